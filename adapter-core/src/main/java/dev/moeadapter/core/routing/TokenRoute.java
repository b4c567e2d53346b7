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

    /**
     * Whether the expert in {@code slot} answered: it was selected and its mixing weight is not 0
     * (an edit such as top-p or a mask zeroes the weight of a selected expert that then does not count).
     */
    public boolean answered(int slot) {
        return slot < experts.length && experts[slot] >= 0 && weights[slot] != 0f;
    }

    /** How many experts answered for this token. */
    public int answering() {
        int n = 0;
        for (int j = 0; j < experts.length; j++) {
            n += answered(j) ? 1 : 0;
        }
        return n;
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
