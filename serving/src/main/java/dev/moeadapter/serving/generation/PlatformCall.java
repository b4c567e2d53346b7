package dev.moeadapter.serving.generation;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Runs a long native call (tokenising a large prompt) on a platform thread of its own when the caller
 * is a virtual thread: a native call pins its virtual thread's carrier for its whole length, and a few
 * requests tokenising megabyte prompts at once would hold every carrier of a small machine, leaving
 * none to the other requests' threads. The virtual caller waits unmounted; a platform caller runs it
 * itself.
 */
final class PlatformCall {
    private PlatformCall() {
    }

    static <T> T run(Supplier<T> call) {
        if (!Thread.currentThread().isVirtual()) {
            return call.get();
        }
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
