package dev.moeadapter.spring.web;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.spring.engine.GenerationOutcome;

import java.util.Locale;

/** Answer of {@code POST /v1/moe/generate}. */
public record GenerateResponse(
        String id,
        String text,
        @JsonProperty("finish_reason") String finishReason,
        Usage usage,
        Timings timings,
        String adaptation) {

    public record Usage(@JsonProperty("prompt_tokens") int promptTokens, @JsonProperty("completion_tokens") int completionTokens,
                        @JsonProperty("total_tokens") int totalTokens) {
    }

    public record Timings(@JsonProperty("prefill_ms") double prefillMs, @JsonProperty("decode_ms") double decodeMs,
                          @JsonProperty("total_ms") double totalMs) {
    }

    static GenerateResponse of(GenerationOutcome o) {
        return new GenerateResponse(o.id(), o.text(), o.finishReason().name().toLowerCase(Locale.ROOT),
                new Usage(o.promptTokens(), o.completionTokens(), o.promptTokens() + o.completionTokens()),
                new Timings(o.prefillMs(), o.decodeMs(), o.totalMs()), o.adaptation());
    }
}
