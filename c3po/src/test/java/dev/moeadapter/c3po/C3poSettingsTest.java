package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.optim.SpsaGains;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class C3poSettingsTest {
    @Test
    void defaultsFollowThePaper() {
        C3poSettings d = C3poSettings.DEFAULTS;
        assertThat(d.neighbours()).isEqualTo(3);
        assertThat(d.criticalLayers()).isEqualTo(5);
        assertThat(d.coreExperts()).isEqualTo(20);
        assertThat(d.duplicateSimilarity()).isEqualTo(0.95);
        assertThat(d.algorithm()).isInstanceOfSatisfying(Algorithm.GradientDescent.class, g -> assertThat(g.steps()).isEqualTo(10));
        assertThat(d.sequencesNeeded()).isEqualTo(1 + 3 * (1 + 2 * 4)); // the current point and 2q probes per neighbour
        assertThat(d.injection()).isEqualTo(Injection.FROM_LAST_PROMPT_TOKEN);
        assertThat(d.lossTokens()).isEqualTo(8);
        assertThat(d.withAlgorithm(Algorithm.ModeFinding.DEFAULTS).sequencesNeeded()).isEqualTo(4);
        assertThat(d.withAlgorithm(Algorithm.KernelRegression.DEFAULTS).sequencesNeeded()).isEqualTo(1 + 3 * 5);
        assertThat(Algorithm.byLabel("kr")).isEqualTo(Algorithm.KernelRegression.DEFAULTS);
        assertThat(Algorithm.byLabel("mode")).isEqualTo(Algorithm.ModeFinding.DEFAULTS);
        assertThat(Algorithm.byLabel("ngd")).isEqualTo(Algorithm.GradientDescent.DEFAULTS);
    }

    @Test
    void badValuesAreRefusedWithTheirName() {
        C3poSettings d = C3poSettings.DEFAULTS;
        assertThatThrownBy(() -> d.withNeighbours(0)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("neighbours");
        assertThatThrownBy(() -> d.withBandwidth(0)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("bandwidth");
        assertThatThrownBy(() -> d.withBandwidth(Double.NaN)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> d.withDuplicateSimilarity(1.5)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("near-duplicate");
        assertThatThrownBy(() -> d.withCriticalLayers(0)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("critical layers");
        assertThatThrownBy(() -> d.withCoreExperts(0)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("core experts");
        assertThatThrownBy(() -> d.withMinReferences(0)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("minimum");
        assertThatThrownBy(() -> d.withLossTokens(0)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("loss tokens");
        assertThatThrownBy(() -> new Algorithm.KernelRegression(List.of())).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> new Algorithm.KernelRegression(List.of(0.5, 1.2))).hasMessageContaining("[0, 1]");
        assertThatThrownBy(() -> new Algorithm.ModeFinding(1.0, 5, 0.2)).hasMessageContaining("alpha");
        assertThatThrownBy(() -> new Algorithm.ModeFinding(0.5, 0, 0.2)).hasMessageContaining("iterations");
        assertThatThrownBy(() -> new Algorithm.ModeFinding(0.5, 5, -1)).hasMessageContaining("bandwidth");
        assertThatThrownBy(() -> Algorithm.GradientDescent.DEFAULTS.withSteps(0)).hasMessageContaining("steps");
        assertThatThrownBy(() -> Algorithm.GradientDescent.DEFAULTS.withGains(SpsaGains.DEFAULTS.withPerturbation(0)))
                .hasMessageContaining("perturbation");
        assertThatThrownBy(() -> d.withOverrides(dev.moeadapter.core.adaptation.StrategySettings.of(java.util.Map.of("inject", "everywhere"))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'inject' must be last or from-last");
        assertThatThrownBy(() -> d.withOverrides(dev.moeadapter.core.adaptation.StrategySettings.of(java.util.Map.of("q", "65"))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'q' must be in 1..64");
        assertThat(d.withOverrides(dev.moeadapter.core.adaptation.StrategySettings.of(java.util.Map.of("inject", "last", "q", "2"))))
                .satisfies(o -> {
                    assertThat(o.injection()).isEqualTo(Injection.LAST_PROMPT_TOKEN);
                    assertThat(((Algorithm.GradientDescent) o.algorithm()).gains().directions()).isEqualTo(2);
                });
        assertThatThrownBy(() -> Algorithm.byLabel("oracle")).isInstanceOf(InvalidRequestException.class).hasMessageContaining("kr, kr-paper, mode, ngd");
    }
}
