package dev.moeadapter.c3po;

import dev.moeadapter.core.adaptation.AdaptationProvider;
import dev.moeadapter.core.adaptation.ProviderContext;
import dev.moeadapter.core.adaptation.ResultCache;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class C3poProviderTest {
    @Test
    void serviceLoaderFindsTheProviderWhichNeedsAReferenceSetFromItsHost() {
        AdaptationProvider p = AdaptationProvider.named("c3po").orElseThrow();
        assertThat(p).isInstanceOf(C3poProvider.class);
        ProviderContext bare = ProviderContext.of(TestModels.olmoe().info(), ResultCache.NONE);
        assertThat(p.unavailable(bare)).hasValueSatisfying(why -> assertThat(why).contains("reference set"));
        assertThatThrownBy(() -> p.create(bare, StrategySettings.NONE)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("c3po needs a ReferenceSet");
        assertThat(p.requirements(StrategySettings.NONE).model()).isEqualTo(C3poStrategy.REQUIREMENTS);
        assertThat(p.requirements(StrategySettings.of(Map.of("k", 2, "algorithm", "kr"))).sequences())
                .isEqualTo(C3poSettings.DEFAULTS.withNeighbours(2).withAlgorithm(Algorithm.KernelRegression.DEFAULTS).sequencesNeeded());
    }

    @Test
    void theSchemaDefaultsAreTheDefaultsRecords() {
        assertThat(C3poSettings.SCHEMA.spec("algorithm").defaultText()).isEqualTo("ngd");
        assertThat(C3poSettings.SCHEMA.spec("k").defaultValue()).isEqualTo(C3poSettings.DEFAULTS.neighbours());
        assertThat(C3poSettings.SCHEMA.spec("steps").defaultValue()).isEqualTo(Algorithm.GradientDescent.DEFAULTS.steps());
        assertThat(C3poSettings.SCHEMA.spec("inject").defaultText()).isEqualTo("from-last");
        assertThat(C3poSettings.DEFAULTS.withNeighbours(7).withMinReferences(9).withOverrides(C3poSettings.SCHEMA.defaults()))
                .isEqualTo(C3poSettings.DEFAULTS);
    }
}
