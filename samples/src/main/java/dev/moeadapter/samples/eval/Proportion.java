package dev.moeadapter.samples.eval;

/** A measured proportion with its 95% Wilson score interval (sound for small n and for 0 or 1). */
public record Proportion(int successes, int n, double value, double low, double high) {
    private static final double Z = 1.959963984540054;

    public static Proportion of(int successes, int n) {
        if (n == 0) {
            return new Proportion(0, 0, Double.NaN, 0, 1);
        }
        double p = (double) successes / n;
        double z2 = Z * Z;
        double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        double half = Z * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / (1 + z2 / n);
        return new Proportion(successes, n, p, Math.max(0, centre - half), Math.min(1, centre + half));
    }

    @Override
    public String toString() {
        return n == 0 ? "n/a (n=0)" : String.format("%.1f%% [%.1f, %.1f] (n=%d)", 100 * value, 100 * low, 100 * high, n);
    }
}
