package dev.moeadapter.serving.generation;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.Semaphore;
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
        FutureTask<T> task = new FutureTask<>(call::get);
        Thread.ofPlatform().name("moe-tokenize").daemon().start(task);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return task.get();
                } catch (InterruptedException e) {
                    interrupted = true; // the call cannot be stopped halfway: wait for it, then pass the interrupt on
                }
            }
        } catch (ExecutionException e) {
            switch (e.getCause()) {
                case RuntimeException re -> throw re;
                case Error err -> throw err;
                default -> throw new IllegalStateException(e.getCause());
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
