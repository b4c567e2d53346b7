package dev.moeadapter.core.engine;

import dev.moeadapter.core.routing.RoutingPlan;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The isolation check of the lever tests: sequence 1 of a batch carries a plan, sequence 0 none, in
 * each batch layout — grouped by sequence, interleaved token by token, and grouped with sequence 1
 * longer. Sequence 0's logits must be bit-identical to a decode of it alone, and sequence 1's last
 * logits must differ from an unedited decode (so the plan did act).
 */
final class NeighbourIsolation {
    private NeighbourIsolation() {}

    /** How the two sequences' tokens are laid out in one batch. */
    enum Layout { GROUPED, INTERLEAVED, UNEQUAL_LENGTHS }

    static void assertPlanStaysOnItsSequence(Model m, RoutingPlan plan) {
        for (Layout layout : Layout.values()) {
            assertPlanStaysOnItsSequence(m, plan, layout);
        }
    }

    private static void assertPlanStaysOnItsSequence(Model m, RoutingPlan plan, Layout layout) {
        int[] a = m.tokenize("abc def ghi");
        int[] b = m.tokenize(layout == Layout.UNEQUAL_LENGTHS ? "xyz uvw rst opq lmn" : "xyz uvw rst");
        float[][] alone = new float[a.length][];
        try (Session s = open(m, 2)) {
            s.decode(Batch.allOutputs(0, 0, a));
            for (int i = 0; i < a.length; i++) {
                alone[i] = s.logits(i);
            }
        }
        try (Session s = open(m, 2)) {
            s.setPlan(1, plan);
            Batch.Builder both = Batch.builder();
            int[] rowOfA = new int[a.length];
            int rows = 0, lastOfB = -1;
            if (layout == Layout.INTERLEAVED) {
                for (int i = 0; i < Math.max(a.length, b.length); i++) {
                    if (i < a.length) { both.add(a[i], i, 0, true); rowOfA[i] = rows++; }
                    if (i < b.length) { both.add(b[i], i, 1, true); lastOfB = rows++; }
                }
            } else {
                for (int i = 0; i < a.length; i++) { both.add(a[i], i, 0, true); rowOfA[i] = rows++; }
                for (int i = 0; i < b.length; i++) { both.add(b[i], i, 1, true); lastOfB = rows++; }
            }
            s.decode(both.build());
            for (int i = 0; i < a.length; i++) {
                assertThat(Arrays.equals(s.logits(rowOfA[i]), alone[i])).as("%s: sequence 0 row %d", layout, i).isTrue();
            }
            float[] edited = s.logits(lastOfB);
            try (Session plain = open(m, 1)) {
                plain.decode(Batch.of(0, 0, b));
                assertThat(Arrays.equals(plain.logits(b.length - 1), edited)).as("%s: the edited sequence changed", layout).isFalse();
            }
        }
    }

    private static Session open(Model m, int sequences) {
        return m.newSession(new SessionParams(512, 128, sequences, 1, 1));
    }
}
