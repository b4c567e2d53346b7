package dev.moeadapter.spring.web.openai;

import dev.moeadapter.core.generation.FinishReason;

/** The engine's finish reasons in OpenAI's words. */
public final class FinishReasons {
    private FinishReasons() {
    }

    /** {@code "stop"} for a natural end or a stop string, {@code "length"} when tokens or context ran out. */
    public static String of(FinishReason reason) {
        return switch (reason) {
            case END_OF_GENERATION, STOP_STRING, CANCELLED -> "stop";
            case MAX_TOKENS, CONTEXT_FULL -> "length";
        };
    }
}
