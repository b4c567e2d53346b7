package dev.moeadapter.core.routing;

/**
 * How far one token's routing is from another's: the distance behind every reported routing shift
 * (measured by the serving core's {@code RoutingProbe}, for the service and the evaluation harness).
 */
public final class RoutingDistance {
    private RoutingDistance() {}

    /**
     * Total-variation distance ½·Σ|p − q| between two distributions over the same experts, after
     * scaling each to sum 1 (top-k weights and sigmoid-gated scores need not); 0 when either is all zero.
     */
    public static double totalVariation(float[] p, float[] q) {
        if (p.length != q.length) {
            throw new IllegalArgumentException("distributions over " + p.length + " and " + q.length + " experts");
        }
        double sp = 0, sq = 0;
        for (int i = 0; i < p.length; i++) {
            sp += p[i];
            sq += q[i];
        }
        if (!(sp > 0) || !(sq > 0)) {
            return 0;
        }
        double d = 0;
        for (int i = 0; i < p.length; i++) {
            d += Math.abs(p[i] / sp - q[i] / sq);
        }
        return d / 2;
    }
}
