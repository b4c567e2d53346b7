package dev.moeadapter.core.routing;

/** The experts one token selected in one MoE layer, best first, with their mixing weights. */
public record TokenRoute(int sequence, int position, int layer, int[] experts, float[] weights) {
    public TokenRoute {
        experts = experts.clone();
        weights = weights.clone();
    }

    @Override
    public int[] experts() {
        return experts.clone();
    }

    @Override
    public float[] weights() {
        return weights.clone();
    }

    /** Mixing weight of {@code expert} for this token, 0 if it was not selected. */
    public float weightOf(int expert) {
        for (int i = 0; i < experts.length; i++) {
            if (experts[i] == expert) {
                return weights[i];
            }
        }
        return 0f;
    }
}
