package dev.moeadapter.core.routing;

/** The router's probability vector over all experts for one token in one MoE layer. */
public record TokenProbabilities(int sequence, int position, int layer, float[] probabilities) {
    public TokenProbabilities {
        probabilities = probabilities.clone();
    }

    @Override
    public float[] probabilities() {
        return probabilities.clone();
    }
}
