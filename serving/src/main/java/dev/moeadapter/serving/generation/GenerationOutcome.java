package dev.moeadapter.serving.generation;

import dev.moeadapter.core.generation.FinishReason;
import dev.moeadapter.serving.guard.FallbackReason;
import dev.moeadapter.serving.routing.RoutedExperts;
import dev.moeadapter.serving.routing.RoutingSummary;

/**
 * The answer to one request, with token counts and timings, the policy and arm it was assigned,
 * the adaptation that produced it, the fallback reason if plain generation stood in, and how far
 * its routing moved from the model's own.
 *
 * @param cut          the arm's time budget ran out while answering: the text ends where it was
 * @param firstTokenMs from the request's start to its first token, or null if it produced none
 * @param fallback     null, or why plain generation answered
 * @param routing      null where routing could not be measured
 * @param routedExperts the answer's routing where the command asked for it, else null
 */
public record GenerationOutcome(String id, String text, FinishReason finishReason, boolean cut, int promptTokens, int completionTokens,
                                double prefillMs, double decodeMs, double totalMs, Double firstTokenMs, String policy, String arm,
                                String adaptation, FallbackReason fallback, RoutingSummary routing,
                                RoutedExperts routedExperts) {
}
