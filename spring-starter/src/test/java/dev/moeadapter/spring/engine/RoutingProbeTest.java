package dev.moeadapter.spring.engine;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The distance behind the routing summary. */
class RoutingProbeTest {
    @Test
    void totalVariationIsHalfTheL1DistanceOfTheNormalisedDistributions() {
        assertThat(RoutingProbe.totalVariation(new float[]{0.5f, 0.5f, 0, 0}, new float[]{0.5f, 0.5f, 0, 0})).isZero();
        assertThat(RoutingProbe.totalVariation(new float[]{1, 0}, new float[]{0, 1})).isEqualTo(1.0);
        assertThat(RoutingProbe.totalVariation(new float[]{0.7f, 0.2f, 0.1f}, new float[]{0.4f, 0.2f, 0.4f})).isCloseTo(0.3, within(1e-6));
        // sigmoid-gated routers give scores that do not sum to 1: compared as distributions
        assertThat(RoutingProbe.totalVariation(new float[]{0.8f, 0.8f}, new float[]{0.4f, 0.4f})).isCloseTo(0, within(1e-9));
    }
}
