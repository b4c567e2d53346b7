package dev.moeadapter.spring.web;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.serving.generation.GenerationOutcome;
import dev.moeadapter.serving.routing.RoutingSummary;

import java.util.Locale;

/**
 * Answer of {@code POST /v1/moe/generate}: {@code id} is the request id that feedback names;
 * {@code adaptation} is the strategy that answered ("none" when {@code fallback} says why plain
 * generation stood in for the arm's); {@code routing} tells per MoE layer how far routing moved from
 * the model's own (see {@link RoutingSummary}); {@code routing_trace}, where the request asked for it,
 * the routed experts of every token (see {@link RoutingTrace}).
 */
public record GenerateResponse(
        String id,
        String text,
        @JsonProperty("finish_reason") String finishReason,
        Usage usage,
        Timings timings,
        String policy,
        String arm,
        String adaptation,
        @JsonInclude(JsonInclude.Include.ALWAYS) Fallback fallback,
        @JsonInclude(JsonInclude.Include.ALWAYS) RoutingSummary routing,
        @JsonProperty("routing_trace") @JsonInclude(JsonInclude.Include.NON_NULL) RoutingTrace routingTrace) {

    public record Usage(@JsonProperty("prompt_tokens") int promptTokens, @JsonProperty("completion_tokens") int completionTokens,
                        @JsonProperty("total_tokens") int totalTokens) {
    }

    public record Timings(@JsonProperty("prefill_ms") double prefillMs, @JsonProperty("decode_ms") double decodeMs,
                          @JsonProperty("total_ms") double totalMs, @JsonProperty("first_token_ms") Double firstTokenMs) {
    }

    public record Fallback(String reason) {
    }

    static GenerateResponse of(GenerationOutcome o) {
        return of(o, RoutingTrace.of(o.routedExperts()));
    }

    /** The response closing a stream, whose events carried the routing trace already. */
    static GenerateResponse streamed(GenerationOutcome o) {
        return of(o, null);
    }

    private static GenerateResponse of(GenerationOutcome o, RoutingTrace trace) {
        return new GenerateResponse(o.id(), o.text(), o.cut() ? "time_budget" : o.finishReason().name().toLowerCase(Locale.ROOT),
                new Usage(o.promptTokens(), o.completionTokens(), o.promptTokens() + o.completionTokens()),
                new Timings(o.prefillMs(), o.decodeMs(), o.totalMs(), o.firstTokenMs()), o.policy(), o.arm(), o.adaptation(),
                o.fallback() == null ? null : new Fallback(o.fallback().label()), o.routing(), trace);
    }
}
