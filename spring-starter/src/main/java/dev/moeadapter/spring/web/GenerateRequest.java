package dev.moeadapter.spring.web;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.ChatMessage;
import dev.moeadapter.serving.BadParameterException;
import dev.moeadapter.serving.generation.GenerationCommand;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Body of {@code POST /v1/moe/generate}. {@code policy} picks an A/B policy (default: the configured
 * one); {@code arm} and {@code settings} ask for an arm and settings for its adaptation, where the
 * policy allows overrides. {@code routing_trace} asks for the answer's routing (see {@link RoutingTrace}).
 */
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
        String policy,
        String arm,
        Map<String, Object> settings,
        @JsonProperty("routing_trace") RoutingTraceOption routingTrace,
        Boolean stream) {

    public record Message(String role, String content) {
    }

    boolean streaming() {
        return Boolean.TRUE.equals(stream);
    }

    GenerationCommand toCommand(String callerKey) {
        List<ChatMessage> chat = null;
        if (messages != null) {
            chat = new ArrayList<>();
            for (int i = 0; i < messages.size(); i++) {
                Message m = messages.get(i);
                String param = "messages[" + i + "]";
                if (m == null) {
                    throw new BadParameterException(param, "messages must not contain null entries");
                }
                if (m.content() == null) {
                    throw new BadParameterException(param + ".content", "chat message content must not be null");
                }
                try {
                    chat.add(new ChatMessage(m.role(), m.content()));
                } catch (InvalidRequestException e) { // the role: the message names it, shortened
                    throw new BadParameterException(param + ".role", e.getMessage());
                }
            }
        }
        return new GenerationCommand(prompt, chat, maxTokens, temperature, topK, topP, minP, seed, stop, policy, arm, settings, callerKey,
                RoutingTraceOption.toRequest(routingTrace));
    }
}
