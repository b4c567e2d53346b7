package dev.moeadapter.spring.web;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.core.engine.ChatMessage;
import dev.moeadapter.spring.engine.GenerationCommand;

import java.util.List;

/** Body of {@code POST /v1/moe/generate}. */
public record GenerateRequest(
        String prompt,
        List<Message> messages,
        @JsonProperty("max_tokens") Integer maxTokens,
        Double temperature,
        @JsonProperty("top_k") Integer topK,
        @JsonProperty("top_p") Double topP,
        @JsonProperty("min_p") Double minP,
        Long seed,
        List<String> stop,
        String adaptation,
        Boolean stream) {

    public record Message(String role, String content) {
    }

    boolean streaming() {
        return Boolean.TRUE.equals(stream);
    }

    GenerationCommand toCommand() {
        List<ChatMessage> chat = messages == null ? null : messages.stream().map(m -> new ChatMessage(m.role(), m.content())).toList();
        return new GenerationCommand(prompt, chat, maxTokens, temperature, topK, topP, minP, seed, stop, adaptation);
    }
}
