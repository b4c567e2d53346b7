package dev.moeadapter.core.engine;

/**
 * What a model keeps of the tokens it has read, which decides what a sequence can be rolled back
 * to. An attention (KV) cache holds one entry per position, so a sequence can be cut back to any
 * prefix or share one with another sequence; a recurrent state summarises every position at once,
 * so llama.cpp keeps one per sequence and can only empty it or copy it whole.
 */
public enum Memory {
    /** A KV cache only: any prefix can be removed, kept or copied. */
    ATTENTION,
    /** A recurrent state per sequence (Mamba, RWKV): only whole sequences. */
    RECURRENT,
    /** A KV cache beside a recurrent or convolution state (Qwen3-Next, LFM2-MoE, DeepSeek-V4): only whole sequences. */
    HYBRID;

    /** Whether a sequence can be cut back to, or share, a prefix of its positions. */
    public boolean rollsBackToAnyPrefix() {
        return this == ATTENTION;
    }

    static Memory fromNative(int code) {
        return switch (code) {
            case 0 -> ATTENTION;
            case 1 -> RECURRENT;
            case 2 -> HYBRID;
            default -> throw new IllegalArgumentException("unknown memory kind " + code);
        };
    }
}
