package dev.moeadapter.serving.metrics;

import dev.moeadapter.serving.guard.FallbackReason;
import dev.moeadapter.serving.policy.Arm;

/**
 * One answered request, as metrics see it.
 *
 * @param operation       "chat" (messages) or "text_completion" (a prompt)
 * @param requestNanos    from the request's start (before waiting for a session) to its last token
 * @param firstTokenNanos from the request's start to its first token, or -1 if there was none
 * @param adaptationNanos the answering strategy's time before its first token
 * @param routingShift    mean routing shift over layers, or null where it was not measured
 * @param fallback        why plain generation answered instead of the arm's adaptation, or null
 */
public record Answered(String operation, Arm arm, int inputTokens, int outputTokens, long requestNanos, long firstTokenNanos,
                       long adaptationNanos, Double routingShift, FallbackReason fallback) {
}
