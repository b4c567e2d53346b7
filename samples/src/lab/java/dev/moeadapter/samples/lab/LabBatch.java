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
 *   <li>{@code grouped}: where the optional expert-grouping loss applies: every real target of an item
 *       that carries its own task's tag, and with {@link GroupOn#ANSWERS} also the answer targets of
 *       every other item (by then the demonstrations have told the task).</li>
 * </ul>
 * {@code task} holds each row's true task at every position.
 */
record LabBatch(NDArray tokens, NDArray targets, NDArray valid, NDArray answer, NDArray context, NDArray grouped,
                NDArray task, int[] lengths) {

    /** Which targets the expert-grouping loss sees. */
    enum GroupOn {
        /** Items with their own tag, every target (lab v2's recipe). */
        TAGGED,
        /** As {@link #TAGGED}, and the answer targets of untagged and misleading items. */
        ANSWERS;

        static GroupOn named(String name) {
            return switch (name) {
                case "tagged" -> TAGGED;
                case "answers" -> ANSWERS;
                default -> throw new IllegalArgumentException("--group-on must be tagged or answers");
            };
        }

        String flag() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    /** The batch of items, without the grouping loss's extra targets. */
    static LabBatch of(NDManager m, List<LabItem> items) {
        return of(m, items, LabTask.Family.holding(items.stream().map(LabItem::task).toList()), GroupOn.TAGGED);
    }

    /** The batch of items of one task family ({@code task} holds each task's place in it). */
    static LabBatch of(NDManager m, List<LabItem> items, LabTask.Family family, GroupOn groupOn) {
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
        float[] valid = new float[b * t], answer = new float[b * t], context = new float[b * t], grouped = new float[b * t];
        int[] lengths = new int[b];
        for (int i = 0; i < b; i++) {
            int[] s = seqs[i];
            LabItem it = items.get(i);
            lengths[i] = s.length - 1;
            int answerStart = s.length - 1 - it.answer().length() - 1; // position predicting the answer's first char
            boolean own = it.tag().equals(it.task().tag());
            for (int j = 0; j < t; j++) {
                int k = i * t + j;
                task[k] = family.index(it.task());
                if (j >= s.length - 1) {
                    tokens[k] = CharVocabulary.EOS;
                    targets[k] = CharVocabulary.EOS;
                    continue;
                }
                tokens[k] = s[j];
                targets[k] = s[j + 1];
                valid[k] = 1;
                if (own || groupOn == GroupOn.ANSWERS && j >= answerStart) grouped[k] = 1;
                if (j >= answerStart) answer[k] = 1;
                else context[k] = 1;
            }
        }
        Shape sh = new Shape(b, t);
        return new LabBatch(m.create(tokens, sh).duplicate(), m.create(targets, sh).duplicate(), m.create(valid, sh).duplicate(),
                m.create(answer, sh).duplicate(), m.create(context, sh).duplicate(), m.create(grouped, sh).duplicate(),
                m.create(task, sh).duplicate(), lengths);
    }
}
