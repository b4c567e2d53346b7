package dev.moeadapter.core.engine;

import dev.moeadapter.core.ContextFullException;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Hybrid and recurrent memories (here LFM2-MoE's convolution + attention layers) regroup a batch's
 * tokens by sequence before the forward pass; edits and outputs must still land on the tokens they
 * were meant for, whatever the batch's layout and however long each sequence is.
 */
class RegroupingMemoryTest {
    private final Model model = TestModels.byName("lfm2moe");

    private Session open() {
        return model.newSession(new SessionParams(256, 64, 2, 1, 1));
    }

    private float[][] alone(int[] tokens) {
        try (Session s = open()) {
            s.decode(Batch.allOutputs(0, 0, tokens));
            float[][] out = new float[tokens.length][];
            for (int i = 0; i < tokens.length; i++) {
                out[i] = s.logits(i);
            }
            return out;
        }
    }

    @Test
    void interleavedSequencesOfUnequalLengthKeepTheirOwnEditsAndOutputs() {
        int[] a = model.tokenize("short one");
        int[] b = model.tokenize("a rather longer second sequence");
        float[][] aAlone = alone(a);
        int layer = model.info().moeLayers().getFirst();
        int expert = model.info().experts() - 1;
        float[] force = new float[model.info().experts()];
        force[expert] = 100f;
        try (Session s = open()) {
            s.setPlan(1, RoutingPlan.of(new RouterEdit.AddDelta(layer, force, PositionRange.ALL)));
            s.setTrace(0, TraceSpec.ROUTES);
            s.setTrace(1, TraceSpec.ROUTES);
            // a0 b0 a1 b1 … then the rest of b: the memory regroups this by sequence
            Batch.Builder batch = Batch.builder();
            int[] aIndex = new int[a.length];
            int index = 0;
            for (int i = 0; i < b.length; i++) {
                if (i < a.length) {
                    aIndex[i] = index++;
                    batch.add(a[i], i, 0, true);
                }
                batch.add(b[i], i, 1, true);
                index++;
            }
            s.decode(batch.build());
            for (int i = 0; i < a.length; i++) {
                assertThat(Arrays.equals(s.logits(aIndex[i]), aAlone[i])).as("sequence 0 token %d", i).isTrue();
            }
            List<TokenRoute> routes = s.drainTrace().routes().stream().filter(r -> r.layer() == layer).toList();
            assertThat(routes.stream().filter(r -> r.sequence() == 1)).hasSize(b.length)
                    .allSatisfy(r -> assertThat(r.experts()[0]).isEqualTo(expert));
            assertThat(routes.stream().filter(r -> r.sequence() == 0)).hasSize(a.length)
                    .anySatisfy(r -> assertThat(r.experts()[0]).isNotEqualTo(expert));
            // the edited sequence continues from its own state
            s.decode(Batch.of(1, b.length, model.tokenize("!", false, false)));
        }
    }

    @Test
    void aBatchThatFailsHalfWayLeavesNoPartialKv() {
        try (Session s = model.newSession(new SessionParams(256, 64, 2, 1, 1))) {
            int room = s.contextSize();
            int filled = 0;
            while (filled < room - 10) { // sequence 0 nearly fills the context
                int n = Math.min(64, room - 10 - filled);
                int[] chunk = new int[n];
                Arrays.fill(chunk, model.tokenize("x", false, false)[0]);
                s.decode(Batch.of(0, filled, chunk));
                filled += n;
            }
            int[] five = model.tokenize("hello", false, false);
            int[] more = model.tokenize("abcdefghij", false, false);
            Batch.Builder batch = Batch.builder();
            for (int i = 0; i < five.length; i++) {
                batch.add(five[i], i, 1, i == five.length - 1); // fits
            }
            for (int i = 0; i < more.length; i++) {
                batch.add(more[i], filled + i, 0, false); // does not
            }
            assertThatThrownBy(() -> s.decode(batch.build())).isInstanceOf(ContextFullException.class);
            assertThat(s.maxPosition(1)).as("sequence 1's part was undone").isEqualTo(-1);
            assertThat(s.maxPosition(0)).isEqualTo(filled - 1);
            s.decode(Batch.of(1, 0, five)); // and it starts afresh
        }
    }
}
