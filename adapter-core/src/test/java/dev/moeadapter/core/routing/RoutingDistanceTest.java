package dev.moeadapter.core.routing;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The distance behind every reported routing shift (the service's routing summary, the harness's table). */
class RoutingDistanceTest {

    @Test
    void totalVariationIsHalfTheL1DistanceOfTheNormalisedDistributions() {
        assertThat(RoutingDistance.totalVariation(new float[]{0.5f, 0.5f, 0, 0}, new float[]{0.5f, 0.5f, 0, 0})).isZero();
        assertThat(RoutingDistance.totalVariation(new float[]{1, 0}, new float[]{0, 1})).isEqualTo(1.0);
        assertThat(RoutingDistance.totalVariation(new float[]{0.7f, 0.2f, 0.1f}, new float[]{0.4f, 0.2f, 0.4f})).isCloseTo(0.3, within(1e-6));
        // sigmoid-gated routers give scores that do not sum to 1: compared as distributions
        assertThat(RoutingDistance.totalVariation(new float[]{0.8f, 0.8f}, new float[]{0.4f, 0.4f})).isCloseTo(0, within(1e-9));
    }
}
