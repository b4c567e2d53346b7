package dev.moeadapter.rerouting;

/**
 * One optimisation round: the context it saw and the mean loss of the 2q probes at each step (an
 * estimate of the loss at the current δ, exact up to O(c²) for a smooth loss).
 */
public record RoundReport(int contextTokens, float[] probeLosses, long nanos) {
    public RoundReport {
        probeLosses = probeLosses.clone();
    }

    @Override
    public float[] probeLosses() {
        return probeLosses.clone();
    }
}
