package dev.moeadapter.spring.web.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.spring.web.GenerateResponse;
import dev.moeadapter.spring.web.RoutingTrace;

import java.util.List;

/**
 * One event of a streamed chat answer (object {@code chat.completion.chunk}): the role first, then
 * pieces of text, then the finish reason; with {@code include_usage} a last chunk with no choices
 * carries the token counts (and the others {@code "usage": null}). With {@code routing_trace} asked
 * for, a chunk carries the routing rows that produced its text (the finish chunk the rows left).
 */
public record ChatCompletionChunk(String id, String object, long created, String model, List<Choice> choices,
                                  @JsonInclude(JsonInclude.Include.NON_NULL) Object usage,
                                  @JsonProperty("routing_trace") @JsonInclude(JsonInclude.Include.NON_NULL) RoutingTrace routingTrace) {

    ChatCompletionChunk(Stamp s, Delta delta, String finishReason, RoutingTrace routingTrace) {
        this(s.id(), "chat.completion.chunk", s.created(), s.model(), List.of(new Choice(0, delta, null, finishReason)), s.noUsage(),
                routingTrace);
    }

    ChatCompletionChunk(Stamp s, GenerateResponse.Usage usage) {
        this(s.id(), "chat.completion.chunk", s.created(), s.model(), List.of(), usage, null);
    }

    public record Choice(int index, Delta delta, Object logprobs, @JsonProperty("finish_reason") String finishReason) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Delta(String role, String content) {
    }
}
