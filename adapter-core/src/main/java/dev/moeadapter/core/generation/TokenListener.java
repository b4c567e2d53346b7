package dev.moeadapter.core.generation;

/** Receives generated text as it becomes final (stop strings and split UTF-8 characters held back). */
@FunctionalInterface
public interface TokenListener {
    TokenListener NONE = (token, text) -> { };

    void onToken(int token, String textDelta);

    /**
     * As {@link #onToken(int, String)}, told besides every token this text completes: the answer's
     * tokens since the last call, most often one, more where text waited for the rest of a character
     * or for a possible stop string. {@link Generator} calls this one; a listener that accounts per
     * token overrides it, and one that passes text on passes this on.
     */
    default void onTokens(int[] tokens, String textDelta) {
        onToken(tokens.length > 0 ? tokens[tokens.length - 1] : -1, textDelta);
    }
}
