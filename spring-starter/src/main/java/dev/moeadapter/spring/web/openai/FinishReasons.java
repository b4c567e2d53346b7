package dev.moeadapter.spring.web.openai;

import dev.moeadapter.core.generation.FinishReason;
import dev.moeadapter.serving.generation.GenerationOutcome;

/** The engine's finish reasons in OpenAI's words. */
public final class FinishReasons {
    private FinishReasons() {
    }

    /** As {@link #of(FinishReason)}; an answer its arm's time budget ended is cut short: {@code "length"}. */
    public static String of(GenerationOutcome o) {
        return o.cut() ? "length" : of(o.finishReason());
    }

    /** {@code "stop"} for a natural end or a stop string, {@code "length"} when tokens or context ran out. */
    public static String of(FinishReason reason) {
        return switch (reason) {
            case END_OF_GENERATION, STOP_STRING, CANCELLED -> "stop";
            case MAX_TOKENS, CONTEXT_FULL -> "length";
        };
    }
}
