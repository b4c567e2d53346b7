package dev.moeadapter.spring.web.openai;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.serving.BadParameterException;
import dev.moeadapter.serving.generation.GenerationCommand;
import dev.moeadapter.spring.web.RoutingTraceOption;
import tools.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/** Body of {@code POST /v1/completions}: one prompt, as a string or an array holding one string. */
public record CompletionRequest(
        String model,
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> prompt,
        @JsonProperty("max_tokens") Integer maxTokens,
        Double temperature,
        @JsonProperty("top_p") Double topP,
        Long seed,
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> stop,
        Integer n,
        Boolean stream,
        @JsonProperty("stream_options") StreamOptions streamOptions,
        @JsonProperty("presence_penalty") Double presencePenalty,
        @JsonProperty("frequency_penalty") Double frequencyPenalty,
        String policy,
        String arm,
        Map<String, Object> settings,
        @JsonProperty("routing_trace") RoutingTraceOption routingTrace,
        String user,
        JsonNode echo,
        @JsonProperty("best_of") JsonNode bestOf,
        JsonNode logprobs,
        JsonNode suffix,
        @JsonProperty("logit_bias") JsonNode logitBias) implements OpenAiRequest {

    /** Fields OpenAI defines, accepted only at a value that asks for nothing. */
    private static final List<NoOp<CompletionRequest>> NO_OPS = List.of(
            new NoOp<>("echo", CompletionRequest::echo, NoOp.FALSE),
            new NoOp<>("best_of", CompletionRequest::bestOf, v -> v.isIntegralNumber() && v.canConvertToInt() && v.asInt() == 1),
            new NoOp<>("logprobs", CompletionRequest::logprobs, NoOp.ONLY_NULL),
            new NoOp<>("suffix", CompletionRequest::suffix, NoOp.ONLY_NULL),
            new NoOp<>("logit_bias", CompletionRequest::logitBias, OpenAiRequest::empty));

    @Override
    public void check(String servedModel) {
        OpenAiRequest.refuseUnlessNoOp(this, NO_OPS);
        OpenAiRequest.super.check(servedModel);
    }

    GenerationCommand toCommand(String callerKey) {
        if (prompt == null || prompt.size() == 1 && prompt.getFirst() == null) {
            throw new BadParameterException("prompt", "prompt is required: one string");
        }
        if (prompt.size() != 1) {
            throw new BadParameterException("prompt", "prompt must be one string (batches of prompts are not supported)");
        }
        return command(prompt.getFirst(), null, maxTokens, callerKey);
    }
}
