package dev.moeadapter.core.engine;

/**
 * Whether a session's attention runs llama.cpp's flash-attention kernel. On the CPU that kernel
 * rounds the query to f16 for batches under 64 rows and keeps it f32 from 64 on, so with it a
 * request's logits move by up to about 3.4% of their scale when it is batched with others; with
 * {@link #OFF} and an {@link KvCacheType#F32} cache they stay within about 2e-6 (docs/benchmarks.md
 * gives the figures and what each costs in throughput).
 */
public enum FlashAttention {
    /** As llama.cpp decides for the model and device (on for the CPU). */
    AUTO(-1),
    OFF(0),
    ON(1);

    private final int nativeValue;

    FlashAttention(int nativeValue) {
        this.nativeValue = nativeValue;
    }

    /** The shim's encoding: -1 auto, 0 off, 1 on. */
    public int nativeValue() {
        return nativeValue;
    }
}
