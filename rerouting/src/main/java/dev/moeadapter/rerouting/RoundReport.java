package dev.moeadapter.rerouting;

/**
 * One optimisation round: the context it saw, the exact context loss at the point each step started
 * from followed by the loss at the last step's proposal, and the loss of the point the round kept
 * (the best it evaluated, probes included), never above the loss it started with.
 */
public record RoundReport(int contextTokens, float[] pointLosses, float endLoss, long nanos) {
    public RoundReport {
        pointLosses = pointLosses.clone();
    }

    @Override
    public float[] pointLosses() {
        return pointLosses.clone();
    }

    /** The context loss under the deltas the round started from. */
    public float startLoss() {
        return pointLosses[0];
    }
}
