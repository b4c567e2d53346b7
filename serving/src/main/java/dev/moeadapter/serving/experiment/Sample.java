package dev.moeadapter.serving.experiment;

/**
 * Observations in [0, 1] summarised by their count, sum and sum of squares: all a mean, its
 * variance and the sequential test need, and what a database can add up.
 */
public record Sample(long n, double sum, double sumSquares) {
    public static final Sample EMPTY = new Sample(0, 0, 0);
    /** The 97.5% standard normal quantile: two-sided 95% intervals. */
    static final double Z95 = 1.959963984540054;

    /** {@code successes} out of {@code n} yes/no outcomes (a 1 squared is 1). */
    public static Sample bernoulli(long n, long successes) {
        return new Sample(n, successes, successes);
    }

    public Sample plus(Sample o) {
        return new Sample(n + o.n, sum + o.sum, sumSquares + o.sumSquares);
    }

    public double mean() {
        return n == 0 ? Double.NaN : sum / n;
    }

    /** The unbiased sample variance (NaN below two observations; rounding never makes it negative). */
    public double variance() {
        return n < 2 ? Double.NaN : Math.max(0, (sumSquares - sum * sum / n) / (n - 1));
    }

    /** Wilson's score interval (95%) for a rate: sensible near 0 and 1 and for small n, unlike mean ± 1.96 se. */
    public Interval wilson95() {
        if (n == 0) {
            return null;
        }
        double p = mean(), z2 = Z95 * Z95, d = 1 + z2 / n;
        double centre = (p + z2 / (2 * n)) / d;
        double half = Z95 / d * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
        return new Interval(Math.max(0, centre - half), Math.min(1, centre + half));
    }

    /** Mean ± 1.96 standard errors (95%, normal approximation), within [0, 1]. */
    public Interval normal95() {
        if (n < 2) {
            return null;
        }
        double half = Z95 * Math.sqrt(variance() / n);
        return new Interval(Math.max(0, mean() - half), Math.min(1, mean() + half));
    }
}
