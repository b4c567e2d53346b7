package dev.moeadapter.scmoe;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationProvider;
import dev.moeadapter.core.adaptation.ProviderContext;
import dev.moeadapter.core.adaptation.ResultCache;
import dev.moeadapter.core.adaptation.SettingSpec;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ScmoeProviderTest {
    @Test
    void serviceLoaderFindsTheProviderAndItBuildsTheStrategy() {
        AdaptationProvider p = AdaptationProvider.named("scmoe").orElseThrow();
        assertThat(p).isInstanceOf(ScmoeProvider.class);
        assertThat(AdaptationProvider.all()).extracting(AdaptationProvider::name).contains("none", "scmoe");
        ScmoeStrategy s = (ScmoeStrategy) p.create(ProviderContext.of(TestModels.olmoe().info(), ResultCache.NONE),
                StrategySettings.of(Map.of("beta", 0.9)));
        assertThat(s.settings()).isEqualTo(ScmoeSettings.DEFAULTS.withBeta(0.9f));
        assertThat(p.requirements(StrategySettings.NONE).sequences()).isEqualTo(2);
        assertThat(p.requirements(StrategySettings.NONE).model()).isEqualTo(ScmoeStrategy.REQUIREMENTS);
    }

    @Test
    void theSchemaDefaultsAreTheDefaultsRecords() {
        assertThat(ScmoeSettings.SCHEMA.names()).containsExactly("alpha", "beta", "weak", "mask-eos");
        SettingSpec beta = ScmoeSettings.SCHEMA.spec("beta");
        assertThat(beta.defaultValue()).isEqualTo(ScmoeSettings.DEFAULTS.beta());
        assertThat(beta.accepted()).isEqualTo("[0, 1000]");
        assertThat(ScmoeSettings.SCHEMA.spec("weak").defaultText()).isEqualTo("rank:2");
        // every default, written as settings write it, reads back as the defaults record
        assertThat(ScmoeSettings.DEFAULTS.withBeta(0.7f).withOverrides(ScmoeSettings.SCHEMA.defaults())).isEqualTo(ScmoeSettings.DEFAULTS);
    }

    @Test
    void oneSpellingPerWeakView() {
        assertThat(ScmoeSettings.DEFAULTS.withOverrides(StrategySettings.of(Map.of("weak", "routed-tok:2"))).weak())
                .isEqualTo(new WeakRouting.RankK(3));
        for (String other : new String[]{"rank-2", "top-1"}) {
            assertThatThrownBy(() -> ScmoeSettings.DEFAULTS.withOverrides(StrategySettings.of(Map.of("weak", other))))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'weak' must be rank:K, routed-tok:I or top:M");
        }
        assertThatThrownBy(() -> ScmoeSettings.DEFAULTS.withOverrides(StrategySettings.of(Map.of("alpha", 0))))
                .hasMessageContaining("scmoe setting 'alpha' must be in (0, 1]");
    }
}
