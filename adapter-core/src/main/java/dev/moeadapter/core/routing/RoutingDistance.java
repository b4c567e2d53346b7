package dev.moeadapter.core.routing;

/** How far one token's routing is from another's: what "routing shift" means everywhere it is reported. */
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

    /** The distance between the mixing weights two routes gave their selected experts (the others weigh 0). */
    public static double totalVariation(TokenRoute a, TokenRoute b) {
        int experts = 0;
        for (int e : a.experts()) experts = Math.max(experts, e + 1);
        for (int e : b.experts()) experts = Math.max(experts, e + 1);
        return totalVariation(mixture(a, experts), mixture(b, experts));
    }

    private static float[] mixture(TokenRoute r, int experts) {
        float[] m = new float[experts];
        int[] e = r.experts();
        float[] w = r.weights();
        for (int i = 0; i < e.length; i++) m[e[i]] += w[i];
        return m;
    }
}
