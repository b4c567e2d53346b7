package dev.moeadapter.spring.engine;

import dev.moeadapter.core.generation.FinishReason;

/** The answer to one request, with token counts, timings and the adaptation arm that produced it. */
public record GenerationOutcome(String id, String text, FinishReason finishReason, int promptTokens, int completionTokens,
                                double prefillMs, double decodeMs, double totalMs, String adaptation) {
}
