package dev.moeadapter.core.engine;

/** How a MoE layer turns router logits into expert probabilities, as seen in the running graph. */
public enum Gating {
    /** Dense model: no router. */
    NONE,
    /** p = softmax(z) (OLMoE, Mixtral, Qwen-MoE, DeepSeekMoE v1). */
    SOFTMAX,
    /** p = sigmoid(z), with a separate selection bias where present (DeepSeek-V3 style). */
    SIGMOID,
    /** top-k over raw logits, softmax over the selected ones (gpt-oss style). */
    SOFTMAX_WEIGHT,
    /** another gating function (e.g. sqrt-softplus). */
    OTHER;

    static Gating fromNative(int code) {
        return switch (code) {
            case 0 -> NONE;
            case 1 -> SOFTMAX;
            case 2 -> SIGMOID;
            case 3 -> SOFTMAX_WEIGHT;
            default -> OTHER;
        };
    }
}
