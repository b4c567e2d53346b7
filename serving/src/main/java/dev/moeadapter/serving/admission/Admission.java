package dev.moeadapter.serving.admission;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.github.resilience4j.bulkhead.BulkheadRegistry;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Admission, the only one: a bulkhead with one permit per session, so a permit holder always finds
 * a free session and a request beyond capacity is refused (503 with Retry-After) instead of
 * queueing without bound.
 */
public final class Admission {
    private final BulkheadRegistry registry;
    private final Bulkhead bulkhead;
    /** Running mean of how long a request holds its permit (an exponentially weighted one): what Retry-After is derived from. */
    private final AtomicLong meanHoldNanos = new AtomicLong(TimeUnit.SECONDS.toNanos(1));

    /**
     * @param permits the sessions there are
     * @param wait    how long a request may wait for a permit before it is refused
     */
    public Admission(int permits, Duration wait) {
        this.registry = BulkheadRegistry.of(BulkheadConfig.custom().maxConcurrentCalls(permits).maxWaitDuration(wait).build());
        this.bulkhead = registry.bulkhead("moe-sessions");
    }

    /**
     * A permit, waiting up to the configured time; then refuses with {@link PoolExhaustedException},
     * whose Retry-After is when a permit is expected to free up.
     */
    public Permit enter() {
        try {
            bulkhead.acquirePermission();
        } catch (BulkheadFullException e) {
            throw new PoolExhaustedException("all " + permits() + " sessions are busy; try again shortly", retryAfter());
        }
        return new Permit();
    }

    public int permits() {
        return bulkhead.getBulkheadConfig().getMaxConcurrentCalls();
    }

    /** The registry of the one bulkhead, for metrics binders. */
    public BulkheadRegistry registry() {
        return registry;
    }

    /** The mean hold of a permit shared by the permits: the expected wait until one of them is returned. */
    private Duration retryAfter() {
        return Duration.ofNanos(meanHoldNanos.get() / permits());
    }

    /** A permit; closing it (once) lets the next request in. */
    public final class Permit implements AutoCloseable {
        private final long taken = System.nanoTime();
        private boolean released;

        private Permit() {
        }

        @Override
        public void close() {
            if (!released) {
                released = true;
                long held = System.nanoTime() - taken;
                meanHoldNanos.updateAndGet(mean -> mean + (held - mean) / 8);
                bulkhead.onComplete();
            }
        }
    }
}
