package dev.moeadapter.serving.generation;

import dev.moeadapter.core.engine.ChatMessage;
import dev.moeadapter.serving.routing.RoutingTraceRequest;

import java.util.List;
import java.util.Map;

/**
 * What a client asked for; null fields take the configured defaults. Exactly one of
 * {@code prompt} and {@code messages} is set.
 *
 * @param policy    the A/B policy, or null for the default one
 * @param arm       the arm the client asks for (where its policy allows it), or null
 * @param settings  the client's own settings for the arm's adaptation (where allowed), or null
 * @param callerKey the caller key that keeps a caller on one arm, or null
 * @param routingTrace what the answer should carry of its routing, or null for nothing
 */
public record GenerationCommand(String prompt, List<ChatMessage> messages, Integer maxTokens, Double temperature,
                                Integer topK, Double topP, Double minP, Long seed, List<String> stop,
                                String policy, String arm, Map<String, Object> settings, String callerKey,
                                RoutingTraceRequest routingTrace) {
}
