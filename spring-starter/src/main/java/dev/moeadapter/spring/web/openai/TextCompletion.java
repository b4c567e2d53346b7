package dev.moeadapter.spring.web.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.spring.web.GenerateResponse;
import dev.moeadapter.spring.web.RoutingTrace;

import java.util.List;

/**
 * Answer of {@code POST /v1/completions} (object {@code text_completion}); streamed answers send
 * the same object per piece of text, the last one with the finish reason, and with
 * {@code include_usage} one more with no choices and the token counts.
 */
public record TextCompletion(String id, String object, long created, String model, List<Choice> choices,
                             @JsonInclude(JsonInclude.Include.NON_NULL) Object usage,
                             @JsonProperty("routing_trace") @JsonInclude(JsonInclude.Include.NON_NULL) RoutingTrace routingTrace) {

    /** A whole answer ({@code usage} set) or a chunk of a streamed one ({@code usage} null). */
    TextCompletion(Stamp s, String text, String finishReason, GenerateResponse.Usage usage, RoutingTrace routingTrace) {
        this(s.id(), "text_completion", s.created(), s.model(), List.of(new Choice(text, 0, null, finishReason)),
                usage == null ? s.noUsage() : usage, routingTrace);
    }

    TextCompletion(Stamp s, GenerateResponse.Usage usage) {
        this(s.id(), "text_completion", s.created(), s.model(), List.of(), usage, null);
    }

    public record Choice(String text, int index, Object logprobs, @JsonProperty("finish_reason") String finishReason) {
    }
}
