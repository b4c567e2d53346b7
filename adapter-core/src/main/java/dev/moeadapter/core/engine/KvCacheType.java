package dev.moeadapter.core.engine;

/**
 * The element type of a session's KV cache. {@link #F32} takes twice the memory of {@link #F16}
 * (llama.cpp's default); with {@link FlashAttention#OFF} it makes a row's logits independent of the
 * rows that share its batch to about 2e-6 of their scale (an f16 cache rounds K and V, so that the
 * kernels' other summation orders for other batch shapes can cross an f16 rounding step).
 */
public enum KvCacheType {
    F16(0),
    F32(1);

    private final int nativeValue;

    KvCacheType(int nativeValue) {
        this.nativeValue = nativeValue;
    }

    /** The shim's encoding: 0 f16, 1 f32. */
    public int nativeValue() {
        return nativeValue;
    }
}
