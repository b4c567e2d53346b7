package dev.moeadapter.spring;

import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Settings of the MoE Adapter starter, under {@code moe.adapter}.
 *
 * @param model the GGUF file to serve
 * @param gpuLayers layers offloaded to a GPU backend (0 = CPU only, -1 = all)
 * @param mmap map the model file instead of reading it
 * @param threads CPU threads per session (0 = all available processors)
 * @param contextSize tokens of context per sequence (prompt + answer); a session holds this for each
 *                    sequence the strategies need (SCMoE: two)
 * @param batchSize most tokens per decode
 * @param sessions concurrent requests (one llama.cpp context each)
 * @param acquireTimeout how long a request waits for a free session before it is refused
 * @param streamTimeout longest a streamed (server-sent events) answer may take
 * @param sampling defaults for requests that do not say
 * @param limits what a request may ask for
 * @param security who may call the endpoints under /v1 and how often
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
        @DefaultValue @Valid Security security) {

    /**
     * Sampling defaults; temperature 0 is greedy.
     *
     * @param maxTokens tokens to generate when a request does not say
     * @param temperature sampling temperature (0 = greedy)
     * @param topK keep the k most likely tokens (0 = off)
     * @param topP keep the smallest set of tokens whose probability reaches p (1 = off)
     * @param minP drop tokens less likely than p times the most likely one (0 = off)
     */
    public record Sampling(
            @DefaultValue("256") @Min(1) int maxTokens,
            @DefaultValue("0") @DecimalMin("0") @DecimalMax("100") double temperature,
            @DefaultValue("0") @Min(0) int topK,
            @DefaultValue("1") @DecimalMin(value = "0", inclusive = false) @DecimalMax("1") double topP,
            @DefaultValue("0") @DecimalMin("0") @DecimalMax("1") double minP) {
    }

    /**
     * Request limits.
     *
     * @param maxTokens most tokens one request may ask to generate
     * @param maxRequestSize largest request body, with or without a Content-Length header (413 above it)
     */
    public record Limits(
            @DefaultValue("4096") @Min(1) int maxTokens,
            @DefaultValue("1MB") @NotNull DataSize maxRequestSize) {
    }

    /**
     * Access to the endpoints under {@code /v1}.
     *
     * @param apiKeys keys a client must send as "Authorization: Bearer KEY"; empty = no authentication
     * @param rateLimit requests per caller and period
     */
    public record Security(
            @DefaultValue List<@NotBlank String> apiKeys,
            @DefaultValue @Valid RateLimit rateLimit) {

        /** Never shows the keys (this record may end up in a log or an error message). */
        @Override
        public String toString() {
            return "Security[apiKeys=" + apiKeys.size() + " configured, rateLimit=" + rateLimit + "]";
        }
    }

    /**
     * A limit on requests per caller. The caller is the API key when keys are configured, else the
     * value of {@code callerHeader} when the request carries it, else the client's address.
     *
     * @param requests requests a caller may make per period (0 = no limit)
     * @param period length of one period
     * @param callerHeader header that names the caller when no API key does (only meaningful behind a
     *                     gateway that sets it)
     */
    public record RateLimit(
            @DefaultValue("0") @Min(0) int requests,
            @DefaultValue("1m") @NotNull Duration period,
            String callerHeader) {

        public RateLimit {
            if (period != null && (period.isNegative() || period.isZero())) {
                throw new IllegalArgumentException("moe.adapter.security.rate-limit.period must be positive, got " + period);
            }
        }
    }

    public int effectiveThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
