package dev.moeadapter.core.generation;

import java.util.concurrent.atomic.AtomicBoolean;

/** Lets another thread stop a generation between tokens. */
public final class CancellationToken {
    private final AtomicBoolean cancelled = new AtomicBoolean(), expired = new AtomicBoolean();
    private final CancellationToken parent;
    private final Runnable check;

    public CancellationToken() {
        this(null, null);
    }

    /**
     * A token that runs {@code check} each time it is asked, before it answers: a probe that may
     * cancel it, e.g. a write that finds a client gone. Asked between tokens by the generating thread.
     */
    public CancellationToken(Runnable check) {
        this(null, check);
    }

    private CancellationToken(CancellationToken parent, Runnable check) {
        this.parent = parent;
        this.check = check;
    }

    public static CancellationToken none() {
        return new CancellationToken();
    }

    public void cancel() {
        cancelled.set(true);
    }

    /**
     * Cancels because the answer's time ran out, not because its client left: the answer then ends
     * where it is and still goes out.
     */
    public void expire() {
        expired.set(true);
        cancelled.set(true);
    }

    /** Whether this token, or one it descends from, was cancelled by {@link #expire}. */
    public boolean isExpired() {
        return expired.get() || (parent != null && parent.isExpired());
    }

    public boolean isCancelled() {
        if (check != null && !cancelled.get()) {
            check.run();
        }
        return cancelled.get() || (parent != null && parent.isCancelled());
    }

    /**
     * A token that is cancelled with this one and can also be cancelled on its own, e.g. to stop one
     * attempt at an answer (a time budget ran out) while the client's own cancellation still applies.
     */
    public CancellationToken child() {
        return new CancellationToken(this, null);
    }
}
