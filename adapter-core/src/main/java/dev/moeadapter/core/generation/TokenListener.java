package dev.moeadapter.core.generation;

/** Receives generated text as it becomes final (stop strings and split UTF-8 characters held back). */
@FunctionalInterface
public interface TokenListener {
    TokenListener NONE = (token, text) -> { };

    void onToken(int token, String textDelta);
}
