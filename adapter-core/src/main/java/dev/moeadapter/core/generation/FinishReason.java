package dev.moeadapter.core.generation;

/** Why a generation ended. */
public enum FinishReason {
    /** The model produced an end-of-generation token. */
    END_OF_GENERATION,
    /** A stop string appeared; it is not part of the text. */
    STOP_STRING,
    /** The token limit was reached. */
    MAX_TOKENS,
    /** The caller cancelled. */
    CANCELLED,
    /** The KV cache ran out of room. */
    CONTEXT_FULL
}
