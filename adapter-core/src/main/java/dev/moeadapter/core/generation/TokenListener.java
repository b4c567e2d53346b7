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

    /** A listener that accounts per token: told by {@link #onTokens} only, to which a lone token (−1: none) is passed on. */
    interface PerToken extends TokenListener {
        @Override
        default void onToken(int token, String textDelta) {
            onTokens(token >= 0 ? new int[] {token} : new int[0], textDelta);
        }

        @Override
        void onTokens(int[] tokens, String textDelta);
    }
}
