package dev.moeadapter.samples.lab;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.moeadapter.core.gguf.CharVocabulary;
import dev.moeadapter.core.routing.RouterEdit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Rewrites the twin fixtures of {@link TwinEditCases}: each router edit applied in the PyTorch twin
 * as llama.cpp's shim defines it on the router logits (rank-k and top-m push the other experts
 * below the kept ones by at least {@link TwinEditCases#PUSH_DOWN}, a mask pushes the denied ones,
 * a replaced distribution sets the logits to log ω, a delta adds), layer after layer: the edit of
 * layer l is computed from the twin's own router probabilities at layer l under the edits of the
 * layers below, and applied as a per-position delta. The default build's
 * {@code TwinEditParityTest} compares llama.cpp through the engine with these outputs. The weight
 * lever ({@code ScaleWeights}) acts after top-k, which no delta expresses: the twin takes it as
 * per-choice weight scales.
 */
class TwinEditFixtureTest {

    @ParameterizedTest
    @FieldSource("dev.moeadapter.samples.lab.TwinEditCases#MODELS")
    void writeTheTwinsOutputsForEveryEdit(String name) throws Exception {
        try (NDManager m = NDManager.newBaseManager(); MoeTwin twin = MoeTwin.load(TwinEditCases.model(name), m)) {
            TwinShape s = twin.shape();
            int[] tokens = CharVocabulary.tokenize(TwinEditCases.TEXT);
            long[] t = new long[tokens.length];
            for (int i = 0; i < t.length; i++) {
                t[i] = tokens[i];
            }
            NDArray input = m.create(t, new Shape(1, t.length));
            Map<String, TwinEditCases.Expected> out = new LinkedHashMap<>();
            for (TwinEditCases.Case c : TwinEditCases.cases(s.layers(), s.experts(), s.topK(), tokens.length)) {
                Edited edited = new Edited(twin, input, tokens.length);
                for (int l = 0; l < s.layers(); l++) {
                    int layer = l;
                    List<RouterEdit> edits = c.plan().edits().stream().filter(e -> e.layer() == layer).toList();
                    List<RouterEdit> onLogits = edits.stream()
                            .filter(e -> !(e instanceof RouterEdit.ScaleWeights) && !(e instanceof RouterEdit.TopP)).toList();
                    if (!onLogits.isEmpty()) {
                        edited.editLogits(l, onLogits);
                    }
                    for (RouterEdit e : edits) {
                        switch (e) {
                            case RouterEdit.ScaleWeights w -> edited.scale(l, w);
                            case RouterEdit.TopP p -> edited.topP(l, p);
                            default -> {
                            }
                        }
                    }
                }
                out.put(c.name(), TwinEditCases.summarise(edited.forward().logits().toFloatArray(), tokens.length, TwinShape.VOCAB));
            }
            assertThat(out.get("rank-2").argmax()).as("the edits change the twin's answer, so the fixtures can catch a wrong edit")
                    .isNotEqualTo(out.get("none").argmax());
            if (out.containsKey("top-p")) {
                assertThat(out.get("top-p").argmax()).as("top-p drops experts the twin would mix").isNotEqualTo(out.get("none").argmax());
            }
            TwinEditCases.write(TwinEditCases.fixture(name), out);
        }
    }

    /**
     * One case's edits as the twin takes them, built layer after layer: a per-position delta on the
     * router logits, and per-choice scales of the final mixing weights (the weight lever and top-p,
     * which act after top-k). Each layer's edit is computed from the twin's own router probabilities
     * under the edits of the layers below.
     */
    private static final class Edited {
        private final MoeTwin twin;
        private final NDArray input;
        private final TwinShape s;
        private final int length;
        private final float[] delta;
        private final float[] scales;
        private boolean scaled;

        Edited(MoeTwin twin, NDArray input, int length) {
            this.twin = twin;
            this.input = input;
            this.s = twin.shape();
            this.length = length;
            this.delta = new float[length * s.layers() * s.experts()];
            this.scales = new float[length * s.layers() * s.topK()];
            java.util.Arrays.fill(scales, 1f);
        }

        MoeTwin.Output forward() {
            NDManager m = input.getManager();
            NDArray d = m.create(delta, new Shape(1, length, s.layers(), s.experts()));
            return twin.forward(input, d, false, scaled, scaled ? m.create(scales, new Shape(1, length, s.layers(), s.topK())) : null);
        }

        /** The router probabilities of {@code layer} per position, under the edits so far. */
        private float[] probabilities(int layer) {
            return forward().routerProbs().get(layer).toFloatArray();
        }

        void editLogits(int l, List<RouterEdit> edits) {
            float[] probs = probabilities(l);
            for (int p = 0; p < length; p++) {
                double[] z = new double[s.experts()];
                for (int e = 0; e < z.length; e++) {
                    z[e] = Math.log(Math.max(probs[p * s.experts() + e], 1e-30));
                }
                double[] edited = z.clone();
                for (RouterEdit e : edits) {
                    if (p >= e.positions().from() && p < e.positions().to()) {
                        apply(e, edited);
                    }
                }
                for (int e = 0; e < z.length; e++) {
                    delta[(p * s.layers() + l) * s.experts() + e] = (float) (edited[e] - z[e]);
                }
            }
        }

        void scale(int l, RouterEdit.ScaleWeights w) {
            for (int p = w.positions().from(); p < Math.min(w.positions().to(), length); p++) {
                System.arraycopy(w.scales(), 0, scales, (p * s.layers() + l) * s.topK(), s.topK());
            }
            scaled = true;
        }

        /**
         * Top-p as the shim defines it on a token's final weights (j-th choice, largest first): the
         * fewest whose mass reaches p keep their weights, the rest get scale 0; the mass is the
         * softmax probabilities' own where the model does not renormalise (OLMoE), else the share of
         * the selected weight, and a renormalising model's kept weights are scaled back to the total.
         */
        void topP(int l, RouterEdit.TopP edit) {
            float[] probs = probabilities(l);
            int k = s.topK();
            for (int p = edit.positions().from(); p < Math.min(edit.positions().to(), length); p++) {
                double[] z = new double[s.experts()];
                for (int e = 0; e < z.length; e++) {
                    z[e] = probs[p * s.experts() + e];
                }
                int[] idx = order(z);
                double[] w = new double[k];
                double selected = 0;
                for (int j = 0; j < k; j++) {
                    w[j] = probs[p * s.experts() + idx[j]];
                    selected += w[j];
                }
                double total = 0;
                for (int j = 0; j < k; j++) {
                    if (!s.olmoe()) {
                        w[j] /= selected;
                    }
                    total += w[j];
                }
                double target = s.olmoe() ? edit.p() : edit.p() * total, kept = 0;
                int keep = 0;
                while (keep < k && kept < target) {
                    kept += w[keep++];
                }
                if (keep == k) {
                    continue;
                }
                for (int j = 0; j < k; j++) {
                    scales[(p * s.layers() + l) * k + j] = j >= keep ? 0f : s.olmoe() ? 1f : (float) (total / kept);
                }
                scaled = true;
            }
        }
    }

    /** The shim's edit of one position's router logits (softmax gating, no selection bias). */
    private static void apply(RouterEdit edit, double[] z) {
        switch (edit) {
            case RouterEdit.AddDelta d -> {
                for (int e = 0; e < z.length; e++) {
                    z[e] += d.delta()[e];
                }
            }
            case RouterEdit.ReplaceDistribution r -> {
                for (int e = 0; e < z.length; e++) {
                    z[e] = Math.log(Math.max(r.probabilities()[e], 1e-30));
                }
            }
            case RouterEdit.KeepRank k -> {
                int keep = order(z)[k.rank() - 1];
                double maxOther = Double.NEGATIVE_INFINITY;
                for (int e = 0; e < z.length; e++) {
                    if (e != keep) {
                        maxOther = Math.max(maxOther, z[e]);
                    }
                }
                double shift = Math.max(0, maxOther - z[keep]) + TwinEditCases.PUSH_DOWN;
                for (int e = 0; e < z.length; e++) {
                    if (e != keep) {
                        z[e] -= shift;
                    }
                }
            }
            case RouterEdit.KeepTop t -> {
                int[] idx = order(z);
                if (t.m() < z.length) {
                    double shift = Math.max(0, z[idx[t.m()]] - z[idx[t.m() - 1]]) + TwinEditCases.PUSH_DOWN;
                    for (int r = t.m(); r < z.length; r++) {
                        z[idx[r]] -= shift;
                    }
                }
            }
            case RouterEdit.ExpertMask mask -> {
                double minAllowed = Double.POSITIVE_INFINITY, maxDenied = Double.NEGATIVE_INFINITY;
                for (int e = 0; e < z.length; e++) {
                    if (mask.allowed()[e]) {
                        minAllowed = Math.min(minAllowed, z[e]);
                    } else {
                        maxDenied = Math.max(maxDenied, z[e]);
                    }
                }
                double shift = Math.max(0, maxDenied - minAllowed) + TwinEditCases.PUSH_DOWN;
                for (int e = 0; e < z.length; e++) {
                    if (!mask.allowed()[e]) {
                        z[e] -= shift;
                    }
                }
            }
            case RouterEdit.Steer st -> {
                double hi = Double.NEGATIVE_INFINITY, lo = Double.POSITIVE_INFINITY;
                for (double v : z) {
                    hi = Math.max(hi, v);
                    lo = Math.min(lo, v);
                }
                for (int e = 0; e < z.length; e++) {
                    float o = st.offsets()[e];
                    z[e] = o > 0 ? hi + o : o < 0 ? lo + o : z[e];
                }
            }
            case RouterEdit.ScaleWeights w -> throw new IllegalArgumentException("the weight lever acts after top-k: the twin takes it as weight scales");
            case RouterEdit.TopP tp -> throw new IllegalArgumentException("top-p acts after top-k: the twin takes it as weight scales");
        }
    }

    /** Expert indices by descending logit, ties in index order (the shim's stable sort). */
    private static int[] order(double[] z) {
        return java.util.stream.IntStream.range(0, z.length).boxed()
                .sorted((a, b) -> Double.compare(z[b], z[a])).mapToInt(Integer::intValue).toArray();
    }
}
