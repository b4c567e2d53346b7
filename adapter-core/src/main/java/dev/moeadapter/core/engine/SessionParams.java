package dev.moeadapter.core.engine;

import dev.moeadapter.core.InvalidRequestException;

/**
 * Shape of a session: KV cache size (shared by all its sequences), the largest batch one decode
 * may take, how many sequences it holds, and CPU threads for single-token and batch decodes.
 */
public record SessionParams(int contextSize, int batchSize, int sequences, int threads, int batchThreads) {
    public SessionParams {
        positive(contextSize, "contextSize");
        positive(batchSize, "batchSize");
        positive(sequences, "sequences");
        positive(threads, "threads");
        positive(batchThreads, "batchThreads");
        if (sequences > 256) {
            throw new InvalidRequestException("at most 256 sequences per session, got " + sequences);
        }
        if (batchSize < sequences) {
            // llama.cpp reserves one output row per sequence in a batch's output buffer and aborts otherwise
            throw new InvalidRequestException("batchSize (" + batchSize + ") must be at least the number of sequences (" + sequences + ")");
        }
    }

    public static SessionParams defaults() {
        int cores = Runtime.getRuntime().availableProcessors();
        return new SessionParams(2048, 512, 4, cores, cores);
    }

    public SessionParams withContextSize(int v) {
        return new SessionParams(v, batchSize, sequences, threads, batchThreads);
    }

    public SessionParams withBatchSize(int v) {
        return new SessionParams(contextSize, v, sequences, threads, batchThreads);
    }

    public SessionParams withSequences(int v) {
        return new SessionParams(contextSize, batchSize, v, threads, batchThreads);
    }

    public SessionParams withThreads(int v) {
        return new SessionParams(contextSize, batchSize, sequences, v, v);
    }

    private static void positive(int v, String name) {
        if (v <= 0) {
            throw new InvalidRequestException(name + " must be positive, got " + v);
        }
    }
}
