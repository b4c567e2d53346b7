package dev.moeadapter.core.routing;

import java.util.Arrays;

/** The router's probability vector over all experts for one token in one MoE layer. */
public record TokenProbabilities(int sequence, int position, int layer, float[] probabilities) {
    public TokenProbabilities {
        probabilities = probabilities.clone();
    }

    @Override
    public float[] probabilities() {
        return probabilities.clone();
    }

    /**
     * The gap between the k-th and the (k+1)-th largest probability: how near the router's choice of
     * {@code k} experts is to a tie (infinite where every expert is chosen).
     */
    public float topKMargin(int k) {
        float[] s = probabilities.clone();
        Arrays.sort(s);
        return k >= s.length ? Float.POSITIVE_INFINITY : s[s.length - k] - s[s.length - k - 1];
    }
}
