package dev.moeadapter.serving.generation;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Runs long native calls (tokenising a large prompt) on platform threads of their own, at most
 * {@code concurrency} at once, when the caller is a virtual thread: a native call pins its virtual
 * thread's carrier for its whole length, and a few requests tokenising megabyte prompts at once would
 * hold every carrier of a small machine, leaving none to the other requests' threads; unbounded, a
 * flood of them would outrun the carriers with platform threads instead. A virtual caller waits
 * unmounted, for a permit and then for the call; a platform caller runs the call itself.
 */
final class PlatformCall {
    private final Semaphore permits;

    PlatformCall(int concurrency) {
        this.permits = new Semaphore(Math.max(1, concurrency), true);
    }

    <T> T run(Supplier<T> call) {
        if (!Thread.currentThread().isVirtual()) {
            return call.get();
        }
        permits.acquireUninterruptibly();
        try {
            return onPlatformThread(call);
        } finally {
            permits.release();
        }
    }

    private static <T> T onPlatformThread(Supplier<T> call) {
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("moe-tokenize").daemon().start(() -> {
            try {
                result.set(call.get());
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the call cannot be stopped halfway: wait for it, then pass the interrupt on
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        switch (failure.get()) {
            case null -> {
                return result.get();
            }
            case RuntimeException e -> throw e;
            case Error e -> throw e;
            case Throwable e -> throw new IllegalStateException(e);
        }
    }
}
