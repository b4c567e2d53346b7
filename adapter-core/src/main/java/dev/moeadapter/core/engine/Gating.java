package dev.moeadapter.core.engine;

/** How a MoE layer turns router logits into expert scores, as seen in the running graph. */
public enum Gating {
    /** Dense model: no router. */
    NONE,
    /** p = softmax(z) (OLMoE, Mixtral, Qwen-MoE, DeepSeekMoE v1). */
    SOFTMAX,
    /** p = sigmoid(z): with a separate selection bias (DeepSeek-V3, GLM-4.5) or top-k on z itself (Llama 4). */
    SIGMOID,
    /** top-k over raw logits, softmax over the selected ones (gpt-oss style). */
    SOFTMAX_WEIGHT,
    /** p = sqrt(softplus(z)) (DeepSeek-V4). */
    SQRT_SOFTPLUS,
    /** another gating function. */
    OTHER;

    static Gating fromNative(int code) {
        return switch (code) {
            case 0 -> NONE;
            case 1 -> SOFTMAX;
            case 2 -> SIGMOID;
            case 3 -> SOFTMAX_WEIGHT;
            case 5 -> SQRT_SOFTPLUS;
            default -> OTHER;
        };
    }
}
