package dev.moeadapter.core.engine;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.nativeaccess.Shim;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A native llama.cpp sampler chain; stateful (its random stream advances), so one per generation. A
 * decode loop may sample with it in its own thread, one token ahead of the generation that owns it:
 * closing waits for such a draw, and a draw after the close is refused, never made on freed memory.
 */
public final class Sampler implements AutoCloseable {
    private final Shim shim;
    private final MemorySegment handle;
    private final ReentrantLock lock = new ReentrantLock();
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

    /** A native call on the chain. */
    @FunctionalInterface
    interface ChainCall {
        int call(MemorySegment chain) throws Throwable;
    }

    /** Runs {@code call} on the open chain; refused (its generation has ended) once closed. */
    int draw(ChainCall call) {
        lock.lock();
        try {
            if (closed) {
                throw new CancelledException("the sampler's generation has ended");
            }
            return call.call(handle);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            shim.samplerFree.invokeExact(handle);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lock.unlock();
        }
    }
}
