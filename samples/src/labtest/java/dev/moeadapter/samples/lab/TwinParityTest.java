package dev.moeadapter.samples.lab;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.gguf.CharVocabulary;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shipped lab GGUFs, run by llama.cpp through our engine, give the same next-token logits as
 * their PyTorch twins on the same input — with and without a router delta in every MoE layer.
 *
 * <p>Tolerance: max |Δlogit| ≤ 5e-3 · max(1, max |logit|) at every position, and the same argmax
 * everywhere. Weights are F32 on both sides; llama.cpp keeps its KV cache in F16 (relative error
 * ~1e-3 in K and V), which is most of the difference, and reorders sums.
 */
class TwinParityTest {

    static final Path MODELS = Path.of(System.getProperty("lab.models", "lab/models"));

    @ParameterizedTest
    @ValueSource(strings = {"lab-olmoe.gguf", "lab-mixtral.gguf"})
    void llamaCppMatchesTheTwin(String file) throws Exception {
        Path gguf = MODELS.resolve(file);
        List<LabItem> items = LabSuite.split(LabSuite.Split.DEV_SHIFTED).subList(0, 3);
        try (NDManager m = NDManager.newBaseManager(); MoeTwin twin = MoeTwin.load(gguf, m);
             Model model = Model.load(ModelParams.of(gguf));
             Session session = model.newSession(SessionParams.defaults().withContextSize(128).withBatchSize(128).withThreads(1))) {
            TwinShape s = twin.shape();
            float[] delta = new float[s.layers() * s.experts()];
            Random r = new Random(7);
            for (int i = 0; i < delta.length; i++) delta[i] = (float) r.nextGaussian() * 2;
            for (boolean edited : new boolean[] {false, true}) {
                for (LabItem it : items) {
                    int[] tokens = CharVocabulary.tokenize(it.prompt() + it.answer());
                    assertThat(model.tokenize(it.prompt() + it.answer())).as("llama.cpp tokenizes like the trainer").containsExactly(tokens);
                    long[] t = new long[tokens.length];
                    for (int i = 0; i < t.length; i++) t[i] = tokens[i];
                    NDArray d = edited ? m.create(delta, new Shape(1, s.layers(), s.experts())) : null;
                    float[] expected = twin.forward(m.create(t, new Shape(1, t.length)), d).logits().toFloatArray();

                    session.clear();
                    List<RouterEdit> edits = new ArrayList<>();
                    for (int l = 0; edited && l < s.layers(); l++) {
                        float[] row = java.util.Arrays.copyOfRange(delta, l * s.experts(), (l + 1) * s.experts());
                        edits.add(new RouterEdit.AddDelta(l, row, PositionRange.ALL));
                    }
                    session.setPlan(0, new RoutingPlan(edits));
                    session.decode(Batch.allOutputs(0, 0, tokens));
                    int v = TwinShape.VOCAB;
                    for (int pos = 0; pos < tokens.length; pos++) {
                        float[] got = session.logits(pos);
                        float scale = 1, maxDiff = 0;
                        int argTwin = 0, argLlama = 0;
                        for (int k = 0; k < v; k++) {
                            float e = expected[pos * v + k];
                            scale = Math.max(scale, Math.abs(e));
                            maxDiff = Math.max(maxDiff, Math.abs(e - got[k]));
                            if (e > expected[pos * v + argTwin]) argTwin = k;
                            if (got[k] > got[argLlama]) argLlama = k;
                        }
                        assertThat(maxDiff).as("%s %s position %d (edited %s)", file, it.id(), pos, edited).isLessThanOrEqualTo(5e-3f * scale);
                        assertThat(argLlama).isEqualTo(argTwin);
                    }
                }
            }
        }
    }
}
