package dev.moeadapter.samples.eval.stats;

import java.util.Arrays;
import java.util.Comparator;

/** Holm's step-down correction: controls the family-wise error rate across several arms' p-values. */
public final class Holm {
    private Holm() {}

    /** Adjusted p-values, in the order given: reject arm i at level α when {@code adjusted[i] ≤ α}. */
    public static double[] adjust(double[] p) {
        int m = p.length;
        Integer[] order = new Integer[m];
        for (int i = 0; i < m; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble(i -> p[i]));
        double[] out = new double[m];
        double running = 0;
        for (int rank = 0; rank < m; rank++) {
            int i = order[rank];
            running = Math.max(running, Math.min(1, (m - rank) * p[i]));
            out[i] = running;
        }
        return out;
    }
}
