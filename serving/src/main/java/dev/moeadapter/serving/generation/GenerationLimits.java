package dev.moeadapter.serving.generation;

/**
 * What a request may ask for, and what it gets when it does not say.
 *
 * @param contextSize the tokens one sequence holds: a longer prompt is refused
 * @param maxTokens   the most tokens a request may ask for
 * @param defaults    the sampling a request gets for the fields it leaves out
 * @param maxRoutingTraceBytes the largest routing trace an answer may carry (its arrays, before base64)
 */
public record GenerationLimits(int contextSize, int maxTokens, SamplingDefaults defaults, long maxRoutingTraceBytes) {
    public GenerationLimits {
        if (contextSize < 1 || maxTokens < 1) {
            throw new IllegalArgumentException("context size and max tokens must be positive, got " + contextSize + " and " + maxTokens);
        }
        if (maxRoutingTraceBytes < 0) {
            throw new IllegalArgumentException("the routing trace limit must be >= 0, got " + maxRoutingTraceBytes);
        }
    }

    /** The sampling of a request that leaves the fields out; {@code maxTokens} is capped by the limit. */
    public record SamplingDefaults(int maxTokens, double temperature, int topK, double topP, double minP) {
    }
}
