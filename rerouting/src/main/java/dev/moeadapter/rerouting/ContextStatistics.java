package dev.moeadapter.rerouting;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Gating;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.TokenProbabilities;

import java.util.List;

/**
 * The context's own routing per MoE layer, from router probabilities traced over its tokens:
 * C_l = mean over tokens of −(1/k)·Σ_j log p_{l,j} over the k selected experts, the mean router
 * distribution, and how often each expert was selected. Index i refers to {@code layers().get(i)}.
 */
public record ContextStatistics(List<Integer> layers, double[] scores, double[][] meanProbabilities, long[][] usage) {
    private static final double MIN_PROBABILITY = 1e-12;

    public ContextStatistics {
        layers = List.copyOf(layers);
    }

    public double score(int index) {
        return scores[index];
    }

    /** Statistics of {@code sequence} in {@code trace}; every MoE layer must have been traced. */
    public static ContextStatistics of(RouterTrace trace, ModelInfo info, int sequence) {
        if (info.gating() == Gating.NONE || info.gating() == Gating.OTHER) {
            throw new InvalidRequestException("rerouting needs softmax or sigmoid router gating; this model uses " + info.gating());
        }
        List<Integer> layers = info.moeLayers();
        int e = info.experts(), k = info.expertsUsed();
        double[] scores = new double[layers.size()];
        double[][] mean = new double[layers.size()][e];
        long[][] usage = new long[layers.size()][e];
        int[] tokens = new int[layers.size()];
        for (TokenProbabilities tp : trace.probabilities()) {
            if (tp.sequence() != sequence) {
                continue;
            }
            int li = layers.indexOf(tp.layer());
            float[] traced = tp.probabilities(); // a distribution in every gating family
            double[] p = new double[traced.length];
            for (int j = 0; j < p.length; j++) {
                p[j] = traced[j];
            }
            int[] top = topK(p, k);
            double s = 0;
            for (int j : top) {
                s -= Math.log(Math.max(p[j], MIN_PROBABILITY));
                usage[li][j]++;
            }
            scores[li] += s / k;
            for (int j = 0; j < e; j++) {
                mean[li][j] += p[j];
            }
            tokens[li]++;
        }
        for (int li = 0; li < layers.size(); li++) {
            if (tokens[li] == 0) {
                throw new IllegalStateException("no router probabilities were traced for layer " + layers.get(li));
            }
            scores[li] /= tokens[li];
            for (int j = 0; j < e; j++) {
                mean[li][j] /= tokens[li];
            }
        }
        return new ContextStatistics(layers, scores, mean, usage);
    }

    /** Indices of the k largest values, largest first (lower index wins ties). */
    static int[] topK(double[] values, int k) {
        int[] out = new int[Math.min(k, values.length)];
        boolean[] taken = new boolean[values.length];
        for (int r = 0; r < out.length; r++) {
            int best = -1;
            for (int j = 0; j < values.length; j++) {
                if (!taken[j] && (best < 0 || values[j] > values[best])) {
                    best = j;
                }
            }
            taken[best] = true;
            out[r] = best;
        }
        return out;
    }
}
