package dev.moeadapter.core.generation;

/** The outcome of one generation, with its timings. */
public record GenerationResult(String text, int[] tokens, int promptTokens, FinishReason finishReason,
                               long prefillNanos, long decodeNanos) {
    public GenerationResult {
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    public int generatedTokens() {
        return tokens.length;
    }

    /** Generated tokens per second of decode time (the first token's sampling counts as prefill). */
    public double decodeTokensPerSecond() {
        return decodeNanos == 0 ? 0 : Math.max(0, tokens.length - 1) * 1e9 / decodeNanos;
    }
}
