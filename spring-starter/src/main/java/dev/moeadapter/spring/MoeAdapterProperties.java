package dev.moeadapter.spring;

import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Settings of the MoE Adapter starter, under {@code moe.adapter}.
 *
 * @param model the GGUF file to serve
 * @param gpuLayers layers offloaded to a GPU backend (0 = CPU only, -1 = all)
 * @param mmap map the model file instead of reading it
 * @param threads CPU threads per session (0 = all available processors)
 * @param contextSize tokens of context per sequence (prompt + answer); a session holds this for each
 *                    sequence the strategies need (SCMoE: two; rerouting: 1 + 2q, nine by default)
 * @param batchSize most tokens per decode
 * @param sessions concurrent requests (one llama.cpp context each)
 * @param acquireTimeout how long a request waits for a free session before it is refused
 * @param streamTimeout longest a streamed (server-sent events) answer may take
 * @param sampling defaults for requests that do not say
 * @param limits what a request may ask for
 * @param c3po C3PO (with the c3po module on the classpath and a reference set named)
 */
@Validated
@ConfigurationProperties("moe.adapter")
public record MoeAdapterProperties(
        @NotNull Path model,
        @DefaultValue("0") @Min(-1) int gpuLayers,
        @DefaultValue("true") boolean mmap,
        @DefaultValue("0") @Min(0) @Max(256) int threads,
        @DefaultValue("4096") @Min(64) int contextSize,
        @DefaultValue("512") @Min(2) int batchSize,
        @DefaultValue("2") @Min(1) @Max(64) int sessions,
        @DefaultValue("30s") @NotNull Duration acquireTimeout,
        @DefaultValue("10m") @NotNull Duration streamTimeout,
        @DefaultValue @Valid Sampling sampling,
        @DefaultValue @Valid Limits limits,
        @DefaultValue @Valid C3po c3po) {

    /** Sampling defaults; temperature 0 is greedy. */
    public record Sampling(
            @DefaultValue("256") @Min(1) int maxTokens,
            @DefaultValue("0") @DecimalMin("0") @DecimalMax("100") double temperature,
            @DefaultValue("0") @Min(0) int topK,
            @DefaultValue("1") @DecimalMin(value = "0", inclusive = false) @DecimalMax("1") double topP,
            @DefaultValue("0") @DecimalMin("0") @DecimalMax("1") double minP) {
    }

    /** Request limits. */
    public record Limits(
            @DefaultValue("4096") @Min(1) int maxTokens,
            @DefaultValue("1MB") @NotNull DataSize maxRequestSize) {
    }

    /**
     * C3PO settings; the strategy "c3po" exists when {@code reference-set} names a file built with
     * {@code c3po-build} for the served model.
     *
     * @param referenceSet the reference set file
     * @param algorithm kr (kernel regression), mode (mode finding) or ngd (neighbourhood gradient descent)
     * @param neighbours k nearest references
     * @param bandwidth of the Gaussian kernel on embeddings
     * @param duplicateSimilarity references more similar than this to the prompt are left out
     * @param criticalLayers the last this-many MoE layers are re-mixed
     * @param coreExperts per critical layer, the prompt's own top-n experts that may change
     * @param minReferences a smaller reference set keeps the base model's routing
     * @param steps NGD steps
     * @param lossTokens answer tokens per neighbour scored by the neighbour loss
     */
    public record C3po(
            Path referenceSet,
            @DefaultValue("ngd") @Pattern(regexp = "kr|mode|ngd") String algorithm,
            @DefaultValue("3") @Min(1) @Max(64) int neighbours,
            @DefaultValue("0.5") @DecimalMin(value = "0", inclusive = false) double bandwidth,
            @DefaultValue("0.95") @DecimalMin(value = "-1", inclusive = false) @DecimalMax("1") double duplicateSimilarity,
            @DefaultValue("5") @Min(1) int criticalLayers,
            @DefaultValue("20") @Min(1) int coreExperts,
            @DefaultValue("3") @Min(1) int minReferences,
            @DefaultValue("10") @Min(1) @Max(1000) int steps,
            @DefaultValue("1") @Min(1) @Max(64) int lossTokens) {
    }

    public int effectiveThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
