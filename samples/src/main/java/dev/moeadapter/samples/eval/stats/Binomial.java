package dev.moeadapter.samples.eval.stats;

/** The binomial distribution with p = ½, exactly enough for the sample sizes of an evaluation. */
final class Binomial {
    private Binomial() {}

    /** P(X ≤ k) for X ~ Binomial(n, ½), summed in log space so that large n neither overflows nor underflows. */
    static double cdfHalf(int k, int n) {
        if (k < 0) return 0;
        if (k >= n) return 1;
        double logHalfN = n * Math.log(0.5), sum = 0, logC = 0; // log C(n, 0) = 0
        for (int i = 0; i <= k; i++) {
            if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
            sum += Math.exp(logC + logHalfN);
        }
        return Math.min(1, sum);
    }
}
