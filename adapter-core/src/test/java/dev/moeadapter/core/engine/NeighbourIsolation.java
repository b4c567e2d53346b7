package dev.moeadapter.core.engine;

import dev.moeadapter.core.routing.RoutingPlan;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The isolation check of the lever tests: sequence 1 of a batch carries a plan, sequence 0 none.
 * Sequence 0's logits must be bit-identical to a decode of it alone, and sequence 1's last logits
 * must differ from an unedited decode (so the plan did act).
 */
final class NeighbourIsolation {
    private NeighbourIsolation() {}

    static void assertPlanStaysOnItsSequence(Model m, RoutingPlan plan) {
        int[] a = m.tokenize("abc def ghi");
        int[] b = m.tokenize("xyz uvw rst");
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
            for (int i = 0; i < a.length; i++) {
                both.add(a[i], i, 0, true);
            }
            for (int i = 0; i < b.length; i++) {
                both.add(b[i], i, 1, true);
            }
            s.decode(both.build());
            for (int i = 0; i < a.length; i++) {
                assertThat(Arrays.equals(s.logits(i), alone[i])).as("sequence 0 row %d", i).isTrue();
            }
            float[] edited = s.logits(a.length + b.length - 1);
            try (Session plain = open(m, 1)) {
                plain.decode(Batch.of(0, 0, b));
                assertThat(Arrays.equals(plain.logits(b.length - 1), edited)).as("the edited sequence changed").isFalse();
            }
        }
    }

    private static Session open(Model m, int sequences) {
        return m.newSession(new SessionParams(512, 128, sequences, 1, 1));
    }
}
