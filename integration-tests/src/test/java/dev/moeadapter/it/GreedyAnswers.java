package dev.moeadapter.it;

import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.FlashAttention;
import dev.moeadapter.core.engine.KvCacheType;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Compares a greedy answer served beside other requests with the same request's answer alone.
 * llama.cpp's kernels are not bit-identical across batch shapes (which rows share a step, how many
 * KV cells a step attends over, a prompt's cells decoded in another chunk), and on the random-weight
 * fixture two tokens' logits can lie within that rounding: there, and only there, answers may part.
 * Where the two answers differ, a session of its own decodes the prompt greedily, and each answer must
 * be that greedy path, or the path with one token swapped for another whose logit is within
 * {@link #TOLERANCE} of the chosen one's (relative to the largest logit, the bound the batching
 * contract states) and greedy after it. Answers are compared as text: the native API returns no token ids.
 */
final class GreedyAnswers {
    static final double TOLERANCE = 1e-4;

    private final Model model;

    GreedyAnswers(Model model) {
        this.model = model;
    }

    void assertSame(String prompt, String alone, String batched, int maxTokens, String what) {
        if (alone.equals(batched)) {
            return;
        }
        List<String> ties = new ArrayList<>(), margins = new ArrayList<>();
        List<String> explained = greedyAnswers(prompt, maxTokens, ties, margins);
        assertThat(explained).as("%s: the greedy path alone and its swaps at ties %s; answers alone [%s], batched [%s]; "
                + "margin of each greedy token over the next (relative) %s", what, ties, alone, batched, margins).contains(alone, batched);
    }

    /**
     * The greedy answer to {@code prompt} in a session of its own, then the answers with one token of it
     * swapped for one that ties with it (each described in {@code ties}), greedy after the swap. Adds to
     * {@code margins} each greedy token's and its text's margin over the next best token, relative to the largest logit.
     */
    List<String> greedyAnswers(String prompt, int maxTokens, List<String> ties, List<String> margins) {
        int[] promptTokens = model.tokenize(prompt, true, false);
        List<String> answers = new ArrayList<>();
        List<Integer> path = new ArrayList<>();
        try (Session s = session()) {
            answers.add(continueGreedily(s, promptTokens, path, maxTokens));
            for (int i = 0; i < path.size(); i++) {
                float[] logits = s.logits(decode(s, concat(promptTokens, path.subList(0, i))));
                double scale = scale(logits), margin = Double.MAX_VALUE;
                for (int t = 0; t < logits.length; t++) {
                    if (t != path.get(i)) {
                        margin = Math.min(margin, (logits[path.get(i)] - logits[t]) / scale);
                    }
                    double gap = Math.abs(logits[t] - logits[path.get(i)]) / scale;
                    if (t != path.get(i) && gap <= TOLERANCE) {
                        List<Integer> swapped = new ArrayList<>(path.subList(0, i));
                        swapped.add(t);
                        answers.add(continueGreedily(s, promptTokens, swapped, maxTokens));
                        ties.add("token " + i + ": " + path.get(i) + " or " + t + " (relative gap " + gap + ")");
                    }
                }
                margins.add(String.format("%s %.1e", model.detokenize(new int[] {path.get(i)}), margin));
            }
        }
        return answers;
    }

    /** Greedy tokens after {@code prompt} and {@code answer} (extended in place) up to {@code maxTokens}; the answer's text. */
    private String continueGreedily(Session s, int[] prompt, List<Integer> answer, int maxTokens) {
        while (answer.size() < maxTokens) {
            int next = s.argmax(decode(s, concat(prompt, answer)));
            if (model.isEndOfGeneration(next)) {
                break;
            }
            answer.add(next);
        }
        return model.detokenize(answer.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The logits after {@code tokens}, decoded whole in a session of its own. */
    float[] logitsAfter(int[] tokens) {
        try (Session s = session()) {
            return s.logits(decode(s, tokens));
        }
    }

    /** Decodes {@code tokens} whole into the emptied sequence 0; returns the batch index of the last. */
    private static int decode(Session s, int[] tokens) {
        s.clearSequence(0);
        s.decode(Batch.of(0, 0, tokens));
        return tokens.length - 1;
    }

    /** Flash attention off and an f32 cache, as the batching tests run the service. */
    private Session session() {
        return model.newSession(new SessionParams(256, 256, 1, 1, 1, FlashAttention.OFF, KvCacheType.F32));
    }

    private static double scale(float[] logits) {
        double scale = 0;
        for (float l : logits) {
            scale = Math.max(scale, Math.abs(l));
        }
        return scale;
    }

    private static int[] concat(int[] a, List<Integer> b) {
        int[] c = Arrays.copyOf(a, a.length + b.size());
        for (int i = 0; i < b.size(); i++) {
            c[a.length + i] = b.get(i);
        }
        return c;
    }
}
