package dev.moeadapter.spring.engine;

import dev.moeadapter.core.engine.ChatMessage;

import java.util.List;

/**
 * What a client asked for; null fields take the configured defaults. Exactly one of
 * {@code prompt} and {@code messages} is set.
 */
public record GenerationCommand(String prompt, List<ChatMessage> messages, Integer maxTokens, Double temperature,
                                Integer topK, Double topP, Double minP, Long seed, List<String> stop, String adaptation) {
}
