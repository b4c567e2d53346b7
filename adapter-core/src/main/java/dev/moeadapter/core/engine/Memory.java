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
    HYBRID,
    /**
     * A KV cache with sliding-window or chunked attention layers (gpt-oss, Llama 4): llama.cpp gives a
     * sequence's cells in those layers to new tokens once they fall out of its window, so a prefix may
     * lack cells a later token reads: only whole sequences.
     */
    SLIDING_WINDOW;

    /** Whether a sequence can be cut back to, or share, a prefix of its positions. */
    public boolean rollsBackToAnyPrefix() {
        return this == ATTENTION;
    }

    /** Why a sequence is shared or cut back whole only; empty for an attention cache. */
    public String wholeOnlyReason() {
        return switch (this) {
            case ATTENTION -> "";
            case RECURRENT, HYBRID -> "it keeps one recurrent state per sequence";
            case SLIDING_WINDOW -> "its sliding-window layers give a sequence's cells to new tokens once they leave the window";
        };
    }

    static Memory fromNative(int code) {
        return switch (code) {
            case 0 -> ATTENTION;
            case 1 -> RECURRENT;
            case 2 -> HYBRID;
            case 3 -> SLIDING_WINDOW;
            default -> throw new IllegalArgumentException("unknown memory kind " + code);
        };
    }
}
