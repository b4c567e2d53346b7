package dev.moeadapter.serving.routing;

import dev.moeadapter.core.engine.Gating;
import dev.moeadapter.core.engine.LayerRouting;
import dev.moeadapter.core.engine.Memory;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TokenRoute;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RoutingRecorderTest {
    /** Layers 1 and 3 are MoE layers; 3 runs for output rows only; 4 experts, top-2. */
    private static final ModelInfo INFO = ModelInfo.of("test", "test", 4, 4, 2, 100, 64, 8, 1, 2, true, Memory.ATTENTION, List.of(
            new LayerRouting(1, Gating.SOFTMAX, false, false, 4, true, false),
            new LayerRouting(3, Gating.SOFTMAX, false, false, 4, true, true)));

    private static TokenRoute route(int position, int layer, int... experts) {
        float[] w = new float[experts.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = 0.1f * (experts[i] + 1);
        }
        return new TokenRoute(0, position, layer, experts, w);
    }

    @Test
    void padsAbsentRowsAndSlotsAndTellsCoverage() {
        RoutingRecorder r = RoutingRecorder.of(INFO, new RoutingTraceRequest(List.of(3)), 8);
        r.record(new RouterTrace(List.of(route(0, 1, 0, 1), route(1, 1, 2, 3), route(1, 3, 3, -1),
                        new TokenRoute(5, 1, 1, new int[] {9, 9}, new float[] {1, 1})), // another sequence
                List.of(new TokenProbabilities(0, 1, 3, new float[] {0.1f, 0.2f, 0.3f, 0.4f}))), 0);
        r.freeze(Integer.MAX_VALUE);
        RoutedExperts all = r.all();
        assertThat(all.rows()).isEqualTo(2);
        // [row, layer, slot]: row 0 has no layer-3 entry (output rows only); row 1 layer 3 used one expert
        assertThat(all.experts()).containsExactly(0, 1, -1, -1, 2, 3, 3, -1);
        assertThat(all.weights()[2]).isEqualTo(-1f);
        assertThat(all.weights()[7]).isEqualTo(-1f);
        assertThat(all.coverage().get(0).spans()).containsExactly(new RoutedExperts.RowSpan(0, 2));
        assertThat(all.coverage().get(1).spans()).containsExactly(new RoutedExperts.RowSpan(1, 2));
        assertThat(all.coverage().get(1).outputRowsOnly()).isTrue();
        assertThat(all.probabilities().getFirst().values()).containsExactly(-1, -1, -1, -1, 0.1f, 0.2f, 0.3f, 0.4f);
    }

    /** An edit that keeps only the second-ranked expert (steering's top-p) leaves the first slot empty: the row is still routed. */
    @Test
    void aRowWhoseFirstSlotAnEditEmptiedIsCovered() {
        RoutingRecorder r = RoutingRecorder.of(INFO, new RoutingTraceRequest(List.of()), 8);
        r.record(new RouterTrace(List.of(route(0, 1, 0, 1), route(1, 1, -1, 2), route(2, 1, 3, 2)), List.of()), 0);
        r.freeze(Integer.MAX_VALUE);
        RoutedExperts all = r.all();
        assertThat(all.experts()).containsExactly(0, 1, -1, -1, -1, 2, -1, -1, 3, 2, -1, -1);
        assertThat(all.coverage().get(0).spans()).containsExactly(new RoutedExperts.RowSpan(0, 3));
    }

    @Test
    void theLatestDecodeOfARowCountsUntilItsTokenIsSent() {
        RoutingRecorder r = RoutingRecorder.of(INFO, new RoutingTraceRequest(List.of()), 8);
        r.record(new RouterTrace(List.of(route(0, 1, 0, 1)), List.of()), 0);
        r.record(new RouterTrace(List.of(route(0, 1, 2, 3)), List.of()), 0); // re-decoded before its token was sent
        r.freeze(Integer.MAX_VALUE);
        RoutedExperts first = r.take();
        r.record(new RouterTrace(List.of(route(0, 1, 1, 0), route(1, 1, 3, 2)), List.of()), 0); // row 0 is final by now
        r.freeze(Integer.MAX_VALUE);
        RoutedExperts second = r.take();
        assertThat(first.firstRow()).isZero();
        assertThat(first.experts()).containsExactly(2, 3, -1, -1);
        assertThat(second.firstRow()).isEqualTo(1);
        assertThat(second.experts()).containsExactly(3, 2, -1, -1);
        assertThat(r.take()).isNull();
        assertThat(r.all().experts()).containsExactly(2, 3, -1, -1, 3, 2, -1, -1);
        r.reset();
        assertThat(r.all().rows()).isZero();
    }

    @Test
    void sizeIsCountedBeforeAnythingIsAllocated() {
        long rows = Integer.MAX_VALUE + 10L;
        assertThat(RoutingRecorder.bytes(INFO, new RoutingTraceRequest(List.of(1, 3)), rows))
                .isEqualTo(rows * (2 * 2 * 8 + 2 * 4 * 4));
        assertThat(RoutingRecorder.none(INFO).take()).isNull();
        assertThat(RoutingRecorder.none(INFO).all()).isNull();
    }
}
