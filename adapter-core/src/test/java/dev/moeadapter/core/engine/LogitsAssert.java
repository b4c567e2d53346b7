package dev.moeadapter.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Outputs of the same row decoded in batches of other shapes: equal within 1e-3 of their scale. */
final class LogitsAssert {
    private LogitsAssert() {}

    static void assertClose(float[] actual, float[] expected) {
        float scale = 0;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("element %d", i).isCloseTo(expected[i], within(1e-3f * scale));
        }
    }
}
