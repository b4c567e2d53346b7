package dev.moeadapter.spring.web.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.spring.web.GenerateResponse;
import dev.moeadapter.spring.web.RoutingTrace;

import java.util.List;

/** Answer of {@code POST /v1/chat/completions} (object {@code chat.completion}); {@code routing_trace} is our extension. */
public record ChatCompletion(String id, String object, long created, String model, List<Choice> choices,
                             GenerateResponse.Usage usage,
                             @JsonProperty("routing_trace") @JsonInclude(JsonInclude.Include.NON_NULL) RoutingTrace routingTrace) {

    ChatCompletion(Stamp s, Message message, String finishReason, GenerateResponse.Usage usage, RoutingTrace routingTrace) {
        this(s.id(), "chat.completion", s.created(), s.model(), List.of(new Choice(0, message, null, finishReason)), usage, routingTrace);
    }

    public record Choice(int index, Message message, Object logprobs, @JsonProperty("finish_reason") String finishReason) {
    }

    public record Message(String role, String content, String refusal) {
        static Message assistant(String content) {
            return new Message("assistant", content, null);
        }
    }
}
