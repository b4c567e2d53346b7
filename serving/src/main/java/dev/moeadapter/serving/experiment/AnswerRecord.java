package dev.moeadapter.serving.experiment;

import dev.moeadapter.serving.guard.FallbackReason;

import java.time.Instant;

/**
 * One answer as the experiment records it.
 *
 * @param answeredBy the adaptation that produced the answer: the arm's own, or {@code none} when plain
 *                   generation stood in for it ({@code fallback} then says why)
 */
public record AnswerRecord(String requestId, String policy, String arm, String answeredBy, FallbackReason fallback, Instant at) {
}
