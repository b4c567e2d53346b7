package dev.moeadapter.core.engine;

import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.nativeaccess.Shim;

import java.lang.foreign.MemorySegment;

/** A native llama.cpp sampler chain; stateful (its random stream advances), so one per generation. */
public final class Sampler implements AutoCloseable {
    private final Shim shim;
    private final MemorySegment handle;
    private boolean closed;

    private Sampler(Shim shim, MemorySegment handle) {
        this.shim = shim;
        this.handle = handle;
    }

    public static Sampler create(Model model, SamplingParams p) {
        Shim shim = Shim.get();
        MemorySegment h;
        try {
            h = (MemorySegment) shim.samplerNew.invokeExact(model.handle(), nativeSeed(p.seed()), (float) p.temperature(), p.topK(), (float) p.topP(), (float) p.minP());
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        }
        if (h.equals(MemorySegment.NULL)) {
            shim.check(Shim.ERR_INTERNAL, "create sampler");
        }
        return new Sampler(shim, h);
    }

    /**
     * llama.cpp takes a 32-bit seed and reads 0xFFFFFFFF as "random": all 64 bits are mixed in (so
     * seeds equal modulo 2^32 sample differently) and that one value is moved off, so every seed is
     * reproducible.
     */
    static int nativeSeed(long seed) {
        long z = (seed + 0x9E3779B97F4A7C15L) * 0xBF58476D1CE4E5B9L; // SplitMix64's finaliser
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        int mixed = (int) (z ^ (z >>> 31));
        return mixed == -1 ? -2 : mixed;
    }

    MemorySegment handle() {
        if (closed) {
            throw new IllegalStateException("sampler is closed");
        }
        return handle;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            shim.samplerFree.invokeExact(handle);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        }
    }
}
