package dev.moeadapter.core.generation;

import java.util.concurrent.atomic.AtomicBoolean;

/** Lets another thread stop a generation between tokens. */
public final class CancellationToken {
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final CancellationToken parent;

    public CancellationToken() {
        this(null);
    }

    private CancellationToken(CancellationToken parent) {
        this.parent = parent;
    }

    public static CancellationToken none() {
        return new CancellationToken();
    }

    public void cancel() {
        cancelled.set(true);
    }

    public boolean isCancelled() {
        return cancelled.get() || (parent != null && parent.isCancelled());
    }

    /**
     * A token that is cancelled with this one and can also be cancelled on its own, e.g. to stop one
     * attempt at an answer (a time budget ran out) while the client's own cancellation still applies.
     */
    public CancellationToken child() {
        return new CancellationToken(this);
    }
}
