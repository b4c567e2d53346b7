package dev.moeadapter.samples.eval.stats;

import java.util.List;
import java.util.Locale;

/**
 * An arm against the base over several training seeds that answered the same items. Seeds share
 * items, so pairs from different seeds are not independent and McNemar on the stacked pairs would
 * overstate the evidence. Instead, per item i, D_i = Σ_seeds (arm right − base right); under the
 * null hypothesis that arm and base are exchangeable on every item, each D_i is as likely to have
 * either sign, and the exact sign-flip permutation test (the full distribution of Σ ±|D_i|, by
 * dynamic programming, no sampling) gives the two-sided p. The pooled difference is the mean of
 * D_i / seeds over items, with a 95% interval from the item-level standard error (normal
 * approximation: fine at the ≥ 400 items per split the lab uses).
 */
public record PooledComparison(int seeds, int items, double difference, double low, double high, double p,
                               List<PairedComparison> perSeed) {

    private static final double Z = 1.959963984540054;

    /** {@code base.get(s)[i]} and {@code arm.get(s)[i]}: seed s, item i (the same items in every seed). */
    public static PooledComparison of(List<boolean[]> base, List<boolean[]> arm) {
        if (base.size() != arm.size() || base.isEmpty()) throw new IllegalArgumentException("need the same seeds for base and arm, at least one");
        int s = base.size(), n = base.getFirst().length;
        int[] d = new int[n];
        for (int k = 0; k < s; k++) {
            if (base.get(k).length != n || arm.get(k).length != n) throw new IllegalArgumentException("every seed must answer the same items");
            for (int i = 0; i < n; i++) d[i] += (arm.get(k)[i] ? 1 : 0) - (base.get(k)[i] ? 1 : 0);
        }
        double mean = 0;
        for (int x : d) mean += (double) x / s;
        mean /= n;
        double var = 0;
        for (int x : d) var += Math.pow((double) x / s - mean, 2);
        double se = n > 1 ? Math.sqrt(var / (n - 1) / n) : Double.NaN;
        List<PairedComparison> perSeed = new java.util.ArrayList<>();
        for (int k = 0; k < s; k++) perSeed.add(PairedComparison.of(base.get(k), arm.get(k)));
        return new PooledComparison(s, n, mean, Math.max(-1, mean - Z * se), Math.min(1, mean + Z * se), signFlipP(d), List.copyOf(perSeed));
    }

    /** Exact two-sided p of the sign-flip test: P(|Σ ε_i |d_i|| ≥ |Σ d_i|) with ε_i = ±1 equally likely. */
    static double signFlipP(int[] d) {
        int total = 0, observed = 0;
        for (int x : d) {
            total += Math.abs(x);
            observed += x;
        }
        if (total == 0) return 1;
        double[] dist = new double[2 * total + 1]; // index = sum + total
        dist[total] = 1;
        int reach = 0;
        for (int x : d) {
            int a = Math.abs(x);
            if (a == 0) continue;
            double[] next = new double[dist.length];
            for (int v = -reach; v <= reach; v++) {
                double pr = dist[v + total];
                if (pr == 0) continue;
                next[v + a + total] += pr / 2;
                next[v - a + total] += pr / 2;
            }
            dist = next;
            reach += a;
        }
        double p = 0;
        int obs = Math.abs(observed);
        for (int v = -total; v <= total; v++) if (Math.abs(v) >= obs) p += dist[v + total];
        return Math.min(1, p);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%+.1f points [%+.1f, %+.1f], sign-flip p = %.4g (%d seeds × %d items)",
                100 * difference, 100 * low, 100 * high, p, seeds, items);
    }
}
