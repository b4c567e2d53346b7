package dev.moeadapter.core.generation;

import java.util.concurrent.atomic.AtomicBoolean;

/** Lets another thread stop a generation between tokens. */
public final class CancellationToken {
    private final AtomicBoolean cancelled = new AtomicBoolean();

    public static CancellationToken none() {
        return new CancellationToken();
    }

    public void cancel() {
        cancelled.set(true);
    }

    public boolean isCancelled() {
        return cancelled.get();
    }
}
