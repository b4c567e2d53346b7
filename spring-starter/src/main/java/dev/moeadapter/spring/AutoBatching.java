package dev.moeadapter.spring;

import dev.moeadapter.core.engine.KvCacheType;
import dev.moeadapter.core.engine.ModelInfo;

/**
 * {@code moe.adapter.batching-lanes=auto}: continuous batching where it was measured to win, in as many lanes as the
 * KV memory allows. On a model whose weights dominate a decode step the loop served 1.5× the tokens/s of the
 * sessions at 8 clients (a 398 MB model, docs/benchmarks.md); on the 5 MB lab model it served 0.5–0.7× their
 * requests/s, because there a step's matrix work is too small to share. Between the two nothing was measured, so the
 * loop starts at {@link #MIN_MODEL_BYTES}, below the smallest model it won on.
 *
 * @param modelBytes     the GGUF file's size
 * @param kvBytesPerCell an upper bound of one KV cell's bytes over the model's layers
 * @param memoryBytes    the machine's (or container's) memory
 */
public record AutoBatching(long modelBytes, long kvBytesPerCell, long memoryBytes) {
    /** The smallest model the loop is chosen for. */
    public static final long MIN_MODEL_BYTES = 256L << 20;
    /** Lanes at most: the benchmark's 8 clients; more concurrent requests queue. */
    public static final int MAX_LANES = 8;
    /** The share of memory the lanes' and kept prompts' KV cells may take at most (the weights and the JVM need the rest). */
    public static final int MEMORY_SHARE_DIVISOR = 4;

    /**
     * An upper bound of one KV cell's bytes: a key and a value of the model's width in every layer, as many KV heads
     * as query heads (a model with grouped-query attention needs a fraction of it; recurrent layers need none).
     */
    public static long kvBytesPerCell(ModelInfo info, KvCacheType cache) {
        return 2L * info.layers() * info.embeddingSize() * (cache == KvCacheType.F32 ? 4 : 2);
    }

    /**
     * Lanes for a loop whose lanes hold {@code sequences} sequences of {@code contextSize} cells each, beside
     * {@code prefixes} kept prompts of as many cells; 0 (sessions) for a small model or where fewer than two lanes fit.
     */
    public int lanes(int sequences, int contextSize, int prefixes) {
        if (modelBytes < MIN_MODEL_BYTES) return 0;
        long perSequence = (long) contextSize * kvBytesPerCell;
        long budget = memoryBytes / MEMORY_SHARE_DIVISOR - prefixes * perSequence;
        long fit = budget <= 0 ? 0 : budget / (perSequence * sequences);
        return fit < 2 ? 0 : (int) Math.min(MAX_LANES, fit);
    }
}
