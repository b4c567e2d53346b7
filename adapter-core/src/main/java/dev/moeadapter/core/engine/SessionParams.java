package dev.moeadapter.core.engine;

import dev.moeadapter.core.InvalidRequestException;

import java.util.Objects;

/**
 * Shape of a session: KV cache size (shared by all its sequences), the largest batch one decode
 * may take, how many sequences it holds, CPU threads for single-token and batch decodes, whether
 * attention uses flash attention, the KV cache's element type, and how the cache holds the
 * sequences.
 */
public record SessionParams(int contextSize, int batchSize, int sequences, int threads, int batchThreads,
                            FlashAttention flashAttention, KvCacheType kvCache, KvLayout kvLayout) {
    /** More threads than this is a mistake, not a plan: each one is a native thread spinning in every decode. */
    public static final int MAX_THREADS = 256;

    public SessionParams {
        Objects.requireNonNull(flashAttention, "flashAttention");
        Objects.requireNonNull(kvCache, "kvCache");
        Objects.requireNonNull(kvLayout, "kvLayout");
        positive(contextSize, "contextSize");
        positive(batchSize, "batchSize");
        positive(sequences, "sequences");
        positive(threads, "threads");
        positive(batchThreads, "batchThreads");
        if (sequences > 256) {
            throw new InvalidRequestException("at most 256 sequences per session, got " + sequences);
        }
        if (threads > MAX_THREADS || batchThreads > MAX_THREADS) {
            throw new InvalidRequestException("at most " + MAX_THREADS + " threads, got " + Math.max(threads, batchThreads));
        }
        // llama.cpp reserves one output row per sequence in a batch's output buffer, and aborts the process
        // otherwise; it lowers the batch to the context size first
        if (batchSize < sequences) {
            throw new InvalidRequestException("batchSize (" + batchSize + ") must be at least the number of sequences (" + sequences + ")");
        }
        if (contextSize < sequences) {
            throw new InvalidRequestException("contextSize (" + contextSize + ") must be at least the number of sequences (" + sequences + ")");
        }
    }

    /** With one KV cache all sequences share. */
    public SessionParams(int contextSize, int batchSize, int sequences, int threads, int batchThreads,
                         FlashAttention flashAttention, KvCacheType kvCache) {
        this(contextSize, batchSize, sequences, threads, batchThreads, flashAttention, kvCache, KvLayout.UNIFIED);
    }

    /** With llama.cpp's defaults: flash attention as it decides, an f16 KV cache, shared by all sequences. */
    public SessionParams(int contextSize, int batchSize, int sequences, int threads, int batchThreads) {
        this(contextSize, batchSize, sequences, threads, batchThreads, FlashAttention.AUTO, KvCacheType.F16);
    }

    public static SessionParams defaults() {
        int cores = Runtime.getRuntime().availableProcessors();
        return new SessionParams(2048, 512, 4, cores, cores);
    }

    public SessionParams withContextSize(int v) {
        return new SessionParams(v, batchSize, sequences, threads, batchThreads, flashAttention, kvCache, kvLayout);
    }

    public SessionParams withBatchSize(int v) {
        return new SessionParams(contextSize, v, sequences, threads, batchThreads, flashAttention, kvCache, kvLayout);
    }

    public SessionParams withSequences(int v) {
        return new SessionParams(contextSize, batchSize, v, threads, batchThreads, flashAttention, kvCache, kvLayout);
    }

    public SessionParams withThreads(int v) {
        return new SessionParams(contextSize, batchSize, sequences, v, v, flashAttention, kvCache, kvLayout);
    }

    public SessionParams withKvLayout(KvLayout v) {
        return new SessionParams(contextSize, batchSize, sequences, threads, batchThreads, flashAttention, kvCache, v);
    }

    private static void positive(int v, String name) {
        if (v <= 0) {
            throw new InvalidRequestException(name + " must be positive, got " + v);
        }
    }
}
