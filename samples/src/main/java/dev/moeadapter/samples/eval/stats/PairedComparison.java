package dev.moeadapter.samples.eval.stats;

import java.util.Locale;

/**
 * Two arms answered the same items: the 2×2 table of their outcomes, the exact McNemar test on the
 * discordant pairs, and the paired difference in accuracy (arm − base) with its 95% interval
 * (Newcombe's hybrid score interval for paired proportions, method 10 of Newcombe 1998, which
 * behaves at 0 and 1 where the Wald interval does not).
 *
 * @param bothRight   items both answered right
 * @param rightToWrong items the base answered right and the arm wrong
 * @param wrongToRight items the base answered wrong and the arm right
 * @param bothWrong   items both answered wrong
 */
public record PairedComparison(int bothRight, int rightToWrong, int wrongToRight, int bothWrong,
                               double difference, double low, double high, double mcnemarP) {

    private static final double Z = 1.959963984540054;

    /** Compares {@code arm} with {@code base}; index i of both is the same item. */
    public static PairedComparison of(boolean[] base, boolean[] arm) {
        if (base.length != arm.length) throw new IllegalArgumentException("paired outcomes need the same items: " + base.length + " vs " + arm.length);
        int a = 0, b = 0, c = 0, d = 0;
        for (int i = 0; i < base.length; i++) {
            if (base[i] && arm[i]) a++;
            else if (base[i]) b++;
            else if (arm[i]) c++;
            else d++;
        }
        return of(a, b, c, d);
    }

    /** From the table: a both right, b base-only right, c arm-only right, d both wrong. */
    public static PairedComparison of(int a, int b, int c, int d) {
        int n = a + b + c + d;
        if (n == 0) return new PairedComparison(0, 0, 0, 0, Double.NaN, -1, 1, 1);
        double pArm = (double) (a + c) / n, pBase = (double) (a + b) / n;
        double[] wArm = wilson(a + c, n), wBase = wilson(a + b, n);
        double denominator = Math.sqrt((double) (a + b) * (c + d) * (a + c) * (b + d));
        double phi = denominator == 0 ? 0 : ((double) a * d - (double) b * c) / denominator;
        double diff = pArm - pBase;
        double dl1 = pArm - wArm[0], du1 = wArm[1] - pArm, dl2 = pBase - wBase[0], du2 = wBase[1] - pBase;
        double low = diff - Math.sqrt(Math.max(0, dl1 * dl1 - 2 * phi * dl1 * du2 + du2 * du2));
        double high = diff + Math.sqrt(Math.max(0, du1 * du1 - 2 * phi * du1 * dl2 + dl2 * dl2));
        return new PairedComparison(a, b, c, d, diff, Math.max(-1, low), Math.min(1, high), mcnemarExact(b, c));
    }

    public int n() { return bothRight + rightToWrong + wrongToRight + bothWrong; }

    /** Two-sided exact McNemar p: the binomial test of the discordant pairs against ½. */
    public static double mcnemarExact(int b, int c) {
        int m = b + c;
        if (m == 0) return 1;
        return Math.min(1, 2 * Binomial.cdfHalf(Math.min(b, c), m));
    }

    static double[] wilson(int successes, int n) {
        double p = (double) successes / n, z2 = Z * Z;
        double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        double half = Z * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / (1 + z2 / n);
        return new double[] {Math.max(0, centre - half), Math.min(1, centre + half)};
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%+.1f points [%+.1f, %+.1f], McNemar p = %.4g, wrong→right %d, right→wrong %d (n = %d)",
                100 * difference, 100 * low, 100 * high, mcnemarP, wrongToRight, rightToWrong, n());
    }
}
