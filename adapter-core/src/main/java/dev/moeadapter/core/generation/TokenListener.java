package dev.moeadapter.core.generation;

/** Receives generated text as it becomes final (stop strings and split UTF-8 characters held back). */
@FunctionalInterface
public interface TokenListener {
    TokenListener NONE = (token, text) -> { };

    void onToken(int token, String textDelta);

    /**
     * As {@link #onToken(int, String)}, told besides how many tokens the answer holds when this text
     * is sent (text can lag behind its tokens: the rest of a character, a possible stop string), which a
     * listener that accounts per token needs. {@link Generator} calls this one; a listener that passes
     * text on should pass this on too.
     */
    default void onToken(int token, String textDelta, int tokens) {
        onToken(token, textDelta);
    }
}
