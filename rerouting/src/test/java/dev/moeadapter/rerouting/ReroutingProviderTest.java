package dev.moeadapter.rerouting;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationProvider;
import dev.moeadapter.core.adaptation.ProviderContext;
import dev.moeadapter.core.adaptation.ResultCache;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.optim.SpsaGains;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ReroutingProviderTest {
    @Test
    void serviceLoaderFindsTheProviderAndItSizesCapacityFromTheSettings() {
        AdaptationProvider p = AdaptationProvider.named("rerouting").orElseThrow();
        assertThat(p).isInstanceOf(ReroutingProvider.class);
        assertThat(p.requirements(StrategySettings.NONE).sequences()).isEqualTo(ReroutingSettings.DEFAULTS.sequencesNeeded());
        assertThat(p.requirements(StrategySettings.of(Map.of("q", 8))).sequences()).isEqualTo(2 + 2 * 8);
        assertThat(p.requirements(StrategySettings.of(Map.of("window", 16))).model().prefixSetting()).isEqualTo("window");
        ReroutingStrategy s = (ReroutingStrategy) p.create(ProviderContext.of(TestModels.olmoe().info(), ResultCache.NONE),
                StrategySettings.of(Map.of("steps", "3", "param", "top:8", "layers", "soft")));
        assertThat(s.settings()).isEqualTo(ReroutingSettings.DEFAULTS.withSteps(3).withParameterisation(new Parameterisation.TopExperts(8))
                .withLayers(new LayerSelection.Soft()));
    }

    @Test
    void theSchemaDefaultsAndRangesAreTheSettingsOwn() {
        assertThat(ReroutingSettings.SCHEMA.spec("steps").defaultValue()).isEqualTo(ReroutingSettings.DEFAULTS.steps());
        assertThat(ReroutingSettings.SCHEMA.spec("steps").accepted()).isEqualTo("0.." + ReroutingSettings.MAX_STEPS);
        assertThat(ReroutingSettings.SCHEMA.spec("q").accepted()).isEqualTo("1.." + SpsaGains.MAX_DIRECTIONS);
        assertThat(ReroutingSettings.SCHEMA.spec("c").defaultValue()).isEqualTo(SpsaGains.DEFAULTS.perturbation());
        assertThat(ReroutingSettings.SCHEMA.spec("layers").defaultText()).isEqualTo("top:1");
        assertThat(ReroutingSettings.SCHEMA.spec("param").defaultText()).isEqualTo("full");
        assertThat(ReroutingSettings.DEFAULTS.withSteps(9).withSeed(4).withOverrides(ReroutingSettings.SCHEMA.defaults()))
                .isEqualTo(ReroutingSettings.DEFAULTS);
        assertThatThrownBy(() -> ReroutingSettings.DEFAULTS.withOverrides(StrategySettings.of(Map.of("steps", ReroutingSettings.MAX_STEPS + 1))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("rerouting setting 'steps' must be in 0..100");
        assertThatThrownBy(() -> ReroutingSettings.DEFAULTS.withOverrides(StrategySettings.of(Map.of("seed", 1L << 40))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'seed' must be in");
    }
}
