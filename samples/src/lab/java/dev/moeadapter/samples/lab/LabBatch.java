package dev.moeadapter.samples.lab;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.moeadapter.core.gguf.CharVocabulary;

import java.util.Arrays;
import java.util.List;

/**
 * Lab items as right-padded tensors. Row i holds {@code BOS ▁ prompt answer EOS}; position j
 * predicts token j+1. Masks (float, {@code [B,T]}):
 * <ul>
 *   <li>{@code valid}: every real target (the language-model loss is taken on all of them);</li>
 *   <li>{@code answer}: targets of the final answer and its EOS (what evaluation scores);</li>
 *   <li>{@code context}: targets inside the prompt (the self-supervised objective of rerouting);</li>
 *   <li>{@code ownTag}: every real target of an item that carries its own task's tag (where the
 *       optional expert-grouping loss applies).</li>
 * </ul>
 * {@code task} holds each row's true task at every position.
 */
record LabBatch(NDArray tokens, NDArray targets, NDArray valid, NDArray answer, NDArray context, NDArray ownTag,
                NDArray task, int[] lengths) {

    static LabBatch of(NDManager m, List<LabItem> items) {
        int b = items.size();
        int[][] seqs = new int[b][];
        int t = 0;
        for (int i = 0; i < b; i++) {
            LabItem it = items.get(i);
            int[] s = CharVocabulary.tokenize(it.prompt() + it.answer());
            seqs[i] = Arrays.copyOf(s, s.length + 1);
            seqs[i][s.length] = CharVocabulary.EOS;
            t = Math.max(t, seqs[i].length - 1);
        }
        long[] tokens = new long[b * t], targets = new long[b * t], task = new long[b * t];
        float[] valid = new float[b * t], answer = new float[b * t], context = new float[b * t], ownTag = new float[b * t];
        int[] lengths = new int[b];
        for (int i = 0; i < b; i++) {
            int[] s = seqs[i];
            LabItem it = items.get(i);
            lengths[i] = s.length - 1;
            int answerStart = s.length - 1 - it.answer().length() - 1; // position predicting the answer's first char
            boolean own = it.tag().equals(it.task().tag());
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
                valid[k] = 1;
                if (own) ownTag[k] = 1;
                if (j >= answerStart) answer[k] = 1;
                else context[k] = 1;
            }
        }
        Shape sh = new Shape(b, t);
        return new LabBatch(m.create(tokens, sh).duplicate(), m.create(targets, sh).duplicate(), m.create(valid, sh).duplicate(),
                m.create(answer, sh).duplicate(), m.create(context, sh).duplicate(), m.create(ownTag, sh).duplicate(),
                m.create(task, sh).duplicate(), lengths);
    }
}
