package dev.moeadapter.core.engine;

import dev.moeadapter.core.ContextFullException;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static dev.moeadapter.core.engine.LogitsAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Hybrid and recurrent memories (here LFM2-MoE's convolution + attention layers) regroup a batch's
 * tokens by sequence before the forward pass; edits and outputs must still land on the tokens they
 * were meant for, whatever the batch's layout and however long each sequence is. A batch goes to
 * llama.cpp in one decode, laid out so that each ubatch llama.cpp cuts from it is one the eval
 * callback expects.
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
    /**
     * In embeddings mode llama.cpp cuts a hybrid memory's batch into one ubatch per sequence: two
     * interleaved sequences, one of them edited, still go in one llama.cpp decode, and every row reads
     * the hidden state and logits it gives decoded alone (DeepSeek-V4 refuses embeddings mode).
     */
    @ParameterizedTest
    @MethodSource("hybridModelsWithEmbeddingsAndLayouts")
    void inEmbeddingsModeInterleavedSequencesGoInOneLlamaDecodeWithTheirOwnOutputs(String name, KvLayout layout) {
        Model m = TestModels.byName(name);
        int[][] toks = {m.tokenize("short one"), m.tokenize("a rather longer second sequence")};
        int layer = m.info().routing().stream().filter(LayerRouting::hasRouter).findFirst().orElseThrow().layer();
        float[] force = new float[m.info().experts()];
        force[m.info().experts() - 1] = 100f;
        RoutingPlan forced = RoutingPlan.of(new RouterEdit.AddDelta(layer, force, PositionRange.ALL));
        SessionParams params = new SessionParams(2 * 128, 64, 2, 1, 1).withKvLayout(layout);
        float[][][] hidden = new float[2][][], logits = new float[2][][];
        try (Session alone = m.newSession(params)) {
            alone.setEmbeddings(true);
            alone.setPlan(1, forced);
            for (int q = 0; q < 2; q++) {
                alone.decode(Batch.allOutputs(q, 0, toks[q]));
                hidden[q] = new float[toks[q].length][];
                logits[q] = new float[toks[q].length][];
                for (int i = 0; i < toks[q].length; i++) {
                    hidden[q][i] = alone.embedding(i);
                    logits[q][i] = alone.logits(i);
                }
            }
        }
        try (Session s = m.newSession(params)) {
            s.setEmbeddings(true);
            s.setPlan(1, forced);
            Batch.Builder batch = Batch.builder();
            List<int[]> rows = new ArrayList<>(); // sequence, position of each batch row
            for (int i = 0; i < toks[1].length; i++) {
                for (int q = 0; q < 2; q++) {
                    if (i < toks[q].length) {
                        batch.add(toks[q][i], i, q, true);
                        rows.add(new int[] {q, i});
                    }
                }
            }
            long before = s.llamaDecodes();
            s.decode(batch.build());
            assertThat(s.llamaDecodes() - before).as("llama.cpp decodes").isEqualTo(1);
            for (int r = 0; r < rows.size(); r++) {
                int q = rows.get(r)[0], i = rows.get(r)[1];
                assertClose(s.embedding(r), hidden[q][i]);
                assertClose(s.logits(r), logits[q][i]);
            }
        }
    }

    /**
     * Random steps (seeded): each of five sequences, one edited, adds 0 to 6 rows in a random interleaving,
     * every row an output, for ten steps. Each step is one llama.cpp decode, and every row's logits are
     * those of its sequence decoded alone step by step, whatever ubatches llama.cpp cuts from the layout.
     */
    @ParameterizedTest
    @MethodSource("hybridModelsAndLayouts")
    void randomStepLayoutsGoInOneLlamaDecodeWithEveryRowsOwnOutputs(String name, KvLayout layout) {
        Model m = TestModels.byName(name);
        int n = 5, steps = 10;
        int layer = m.info().routing().stream().filter(LayerRouting::hasRouter).findFirst().orElseThrow().layer();
        float[] force = new float[m.info().experts()];
        force[m.info().experts() - 1] = 100f;
        RoutingPlan forced = RoutingPlan.of(new RouterEdit.AddDelta(layer, force, PositionRange.ALL));
        Random random = new Random(42);
        int vocab = m.info().vocabSize();
        int[][][] chunks = new int[steps][n][]; // per step and sequence: its rows' tokens
        for (int t = 0; t < steps; t++) {
            for (int q = 0; q < n; q++) {
                chunks[t][q] = random.ints(random.nextInt(7), 1, vocab).toArray();
            }
        }
        SessionParams params = new SessionParams(n * 128, 64, n, 1, 1).withKvLayout(layout);
        float[][][][] alone = new float[steps][n][][];
        try (Session a = m.newSession(params)) {
            a.setPlan(3, forced);
            for (int q = 0; q < n; q++) {
                int pos = 0;
                for (int t = 0; t < steps; t++) {
                    int[] c = chunks[t][q];
                    alone[t][q] = new float[c.length][];
                    if (c.length > 0) {
                        a.decode(Batch.allOutputs(q, pos, c));
                        for (int i = 0; i < c.length; i++) {
                            alone[t][q][i] = a.logits(i);
                        }
                        pos += c.length;
                    }
                }
            }
        }
        try (Session s = m.newSession(params)) {
            s.setPlan(3, forced);
            int[] pos = new int[n];
            for (int t = 0; t < steps; t++) {
                List<int[]> rows = new ArrayList<>(); // sequence, row within its chunk
                for (int q = 0; q < n; q++) {
                    for (int i = 0; i < chunks[t][q].length; i++) {
                        rows.add(new int[] {q, i});
                    }
                }
                if (rows.isEmpty()) {
                    continue;
                }
                Collections.shuffle(rows, random); // a sequence's rows then take its tokens in order
                int[] seen = new int[n];
                Batch.Builder batch = Batch.builder();
                for (int[] r : rows) {
                    int q = r[0], i = seen[q]++;
                    r[1] = i;
                    batch.add(chunks[t][q][i], pos[q] + i, q, true);
                }
                long before = s.llamaDecodes();
                s.decode(batch.build());
                assertThat(s.llamaDecodes() - before).as("llama.cpp decodes for step %d", t).isEqualTo(1);
                for (int k = 0; k < rows.size(); k++) {
                    assertClose(s.logits(k), alone[t][rows.get(k)[0]][rows.get(k)[1]]);
                }
                for (int q = 0; q < n; q++) {
                    pos[q] += chunks[t][q].length;
                }
            }
        }
    }

    static Stream<Arguments> hybridModelsWithEmbeddingsAndLayouts() {
        return hybridModelsAndLayouts().filter(a -> !a.get()[0].equals("deepseek4"));
    }

    static Stream<Arguments> hybridModelsAndLayouts() {
        return Stream.of("lfm2moe", "qwen3next", "deepseek4")
                .flatMap(name -> Arrays.stream(KvLayout.values()).map(layout -> Arguments.of(name, layout)));
    }

    /**
     * Six sequences, one of them edited (an expert forced on a routed layer) and one traced: a step
     * whose rows come out of sequence order, one sequence with three rows, one with two and one with
     * none (with one attention cache llama.cpp cuts it into ubatches of 5, 2 and 1 rows), then a step
     * of one row for each. Every row reads the outputs it gives decoded alone, the edit lands on
     * its own sequence's rows only, and each step is one llama.cpp decode.
     */
    @ParameterizedTest
    @MethodSource("hybridModelsAndLayouts")
    void singleRowSequencesGoInOneLlamaDecodeWithTheirOwnEditsAndOutputs(String name, KvLayout layout) {
        Model m = TestModels.byName(name);
        String[] prompts = {"Once upon a time", "The quick brown fox jumps", "abc def ghi", "My favourite colour is", "hello", "xyz uvw rst"};
        int[] stepRows = {1, 3, 1, 2, 0, 1};
        int layer = m.info().routing().stream().filter(LayerRouting::hasRouter).findFirst().orElseThrow().layer();
        int expert = m.info().experts() - 1;
        float[] force = new float[m.info().experts()];
        force[expert] = 100f;
        RoutingPlan forced = RoutingPlan.of(new RouterEdit.AddDelta(layer, force, PositionRange.ALL));
        SessionParams params = new SessionParams(6 * 128, 64, 6, 1, 1).withKvLayout(layout);
        int[][] toks = new int[6][];
        float[][] stepAlone = new float[6][], nextAlone = new float[6][];
        try (Session alone = m.newSession(params)) { // each sequence decoded on its own
            alone.setPlan(2, forced);
            for (int q = 0; q < 6; q++) {
                toks[q] = m.tokenize(prompts[q]);
                int held = toks[q].length - stepRows[q];
                alone.decode(Batch.noOutputs(q, 0, Arrays.copyOf(toks[q], held)));
                if (stepRows[q] > 0) {
                    alone.decode(Batch.of(q, held, Arrays.copyOfRange(toks[q], held, toks[q].length)));
                    stepAlone[q] = alone.logits(stepRows[q] - 1);
                }
                alone.decode(Batch.of(q, toks[q].length, toks[q][0]));
                nextAlone[q] = alone.logits(0);
            }
        }
        try (Session s = m.newSession(params)) {
            s.setPlan(2, forced);
            s.setTrace(2, TraceSpec.ROUTES);
            s.setTrace(3, TraceSpec.ROUTES);
            for (int q = 0; q < 6; q++) {
                s.decode(Batch.noOutputs(q, 0, Arrays.copyOf(toks[q], toks[q].length - stepRows[q])));
            }
            s.drainTrace();
            Batch.Builder mixed = Batch.builder();
            for (int q : new int[] {3, 0, 5, 1, 2}) {
                for (int i = toks[q].length - stepRows[q]; i < toks[q].length; i++) {
                    mixed.add(toks[q][i], i, q, i == toks[q].length - 1);
                }
            }
            Batch step = mixed.build();
            long before = s.llamaDecodes();
            s.decode(step);
            assertThat(s.llamaDecodes() - before).as("llama.cpp decodes for a step with a prompt chunk").isEqualTo(1);
            for (int i = 0; i < step.size(); i++) {
                if (step.output(i)) {
                    assertClose(s.logits(i), stepAlone[step.sequence(i)]);
                }
            }
            Batch.Builder next = Batch.builder();
            for (int q = 0; q < 6; q++) {
                next.add(toks[q][0], toks[q].length, q, true);
            }
            before = s.llamaDecodes();
            s.decode(next.build());
            assertThat(s.llamaDecodes() - before).as("llama.cpp decodes for a step of single rows").isEqualTo(1);
            for (int q = 0; q < 6; q++) {
                assertClose(s.logits(q), nextAlone[q]);
            }
            List<TokenRoute> routes = s.drainTrace().routes().stream().filter(r -> r.layer() == layer).toList();
            assertThat(routes.stream().filter(r -> r.sequence() == 2)).as("the edited sequence's rows").hasSize(2)
                    .allSatisfy(r -> assertThat(r.experts()[0]).isEqualTo(expert));
            assertThat(routes.stream().filter(r -> r.sequence() == 3)).as("the traced sequence's rows").hasSize(3)
                    .anySatisfy(r -> assertThat(r.experts()[0]).isNotEqualTo(expert));
        }
    }
}
