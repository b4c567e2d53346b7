package dev.moeadapter.samples.lab;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.moeadapter.core.gguf.CharVocabulary;

import java.util.List;

/**
 * Lab items as right-padded training tensors. Row i holds {@code BOS ▁ prompt answer EOS}; position j
 * predicts token j+1. Masks (float, {@code [B,T]}):
 * <ul>
 *   <li>{@code learn}: targets inside an output (after '=' through the following ',' or EOS) — every
 *       demonstration output is itself an instance of the task;</li>
 *   <li>{@code answer}: targets of the final answer and its EOS (what evaluation scores);</li>
 *   <li>{@code context}: targets inside the prompt (the self-supervised objective of rerouting);</li>
 *   <li>{@code routed}: positions whose routing is supervised toward the task's experts — all of a
 *       tagged item; for an untagged one, from the end of the first demonstration on.</li>
 * </ul>
 */
record LabBatch(NDArray tokens, NDArray targets, NDArray learn, NDArray answer, NDArray context, NDArray routed,
                NDArray task, NDArray forcing, int[] lengths) {

    /** Router-logit boost that forces a misleadingly tagged training item onto its task's experts. */
    static final float FORCE = 8f;

    /** Evaluation batch: nothing forced. */
    static LabBatch of(NDManager m, List<LabItem> items) {
        return of(m, items, null);
    }

    /**
     * With a shape, misleadingly tagged items are training items: their routing is forced toward the
     * true task's expert group ({@code forcing} = {@link #FORCE} on those experts in every layer) and
     * their routing is not supervised (the router only learns from truthful or absent tags).
     */
    static LabBatch of(NDManager m, List<LabItem> items, TwinShape training) {
        int b = items.size();
        int[][] seqs = new int[b][];
        int t = 0;
        for (int i = 0; i < b; i++) {
            LabItem it = items.get(i);
            int[] s = CharVocabulary.tokenize(it.prompt() + it.answer());
            seqs[i] = java.util.Arrays.copyOf(s, s.length + 1);
            seqs[i][s.length] = CharVocabulary.EOS;
            t = Math.max(t, seqs[i].length - 1);
        }
        long[] tokens = new long[b * t], targets = new long[b * t], task = new long[b * t];
        float[] learn = new float[b * t], answer = new float[b * t], context = new float[b * t], routed = new float[b * t];
        int eq = CharVocabulary.charToken('='), comma = CharVocabulary.charToken(',');
        int[] lengths = new int[b];
        for (int i = 0; i < b; i++) {
            int[] s = seqs[i];
            LabItem it = items.get(i);
            lengths[i] = s.length - 1;
            int answerStart = s.length - 1 - it.answer().length() - 1; // position predicting the answer's first char
            boolean forced = training != null && it.shifted();
            boolean tagged = !it.tag().equals(LabSuite.UNTAGGED) && !forced;
            boolean inOutput = false, seenComma = false;
            for (int j = 0; j < t; j++) {
                int k = i * t + j;
                task[k] = it.task().ordinal();
                if (j >= s.length - 1) {
                    tokens[k] = CharVocabulary.EOS;
                    targets[k] = CharVocabulary.EOS;
                    continue;
                }
                tokens[k] = s[j];
                targets[k] = s[j + 1];
                if (s[j] == eq) inOutput = true;
                if (inOutput) learn[k] = 1;
                if (s[j] == comma) {
                    inOutput = false;
                    seenComma = true;
                    learn[k] = 0;
                }
                if (j >= answerStart) answer[k] = 1;
                else context[k] = 1;
                if (!forced && (tagged || seenComma)) routed[k] = 1;
            }
        }
        NDArray forcing = null;
        if (training != null) {
            int layers = training.layers(), experts = training.experts(), group = experts / LabTask.values().length;
            float[] f = new float[b * layers * experts];
            for (int i = 0; i < b; i++) {
                LabItem it = items.get(i);
                if (!it.shifted()) continue;
                for (int l = 0; l < layers; l++) {
                    for (int g = 0; g < group; g++) f[(i * layers + l) * experts + it.task().ordinal() * group + g] = FORCE;
                }
            }
            forcing = m.create(f, new Shape(b, layers, experts));
        }
        Shape sh = new Shape(b, t);
        return new LabBatch(m.create(tokens, sh), m.create(targets, sh), m.create(learn, sh), m.create(answer, sh),
                m.create(context, sh), m.create(routed, sh), m.create(task, sh), forcing, lengths);
    }
}
