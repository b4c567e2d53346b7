package dev.moeadapter.serving.admission;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;

/**
 * Admission, the only queue: one permit per session (or decode-loop lane), so a permit holder always
 * finds one free. A request that finds none waits up to the configured time, then is refused (503
 * with Retry-After) instead of queueing without bound. Waiting is fair across callers, not across
 * requests: a returned permit goes to the waiting caller that holds the fewest permits (the one
 * that waited longest among equals), so one caller's burst takes the free permits but cannot keep
 * another caller's request out for longer than one of its own requests lasts.
 *
 * <p>At most {@code maxWaiting} requests wait at once, since each holds a connection and a request thread: when the
 * queue is full, a newcomer takes the place of the latest waiting request of the caller with the most
 * waiting, if that caller has at least two more waiting than the newcomer's (that request is refused),
 * else the newcomer is refused. So a caller's burst cannot fill the queue against the others either.
 *
 * <p>A waiting request whose client has gone away leaves the queue when its wait next looks (every
 * {@link #DEPARTURE_CHECK}), so that a permit never goes to a request nobody is waiting for.
 */
public final class Admission {
    /** How often a waiting request asks whether its client is still there. */
    static final Duration DEPARTURE_CHECK = Duration.ofMillis(100);
    private final int permits, maxWaiting;
    private final long waitNanos;
    private final ReentrantLock lock = new ReentrantLock();
    /** Waiting requests per caller, callers in the order they started to wait. */
    private final Map<String, Deque<Waiter>> waiting = new LinkedHashMap<>();
    private final Map<String, Integer> held = new HashMap<>();
    /** When each caller holding or waiting for a permit was last given one (a count of permits given). */
    private final Map<String, Long> lastServed = new HashMap<>();
    private long given;
    private int inUse, queued;
    private long admitted, refused, departed, waitedNanos;
    /** Running mean of how long a request holds its permit (an exponentially weighted one): what Retry-After is derived from. */
    private final AtomicLong meanHoldNanos = new AtomicLong(TimeUnit.SECONDS.toNanos(1));
    /** Told each admitted request's time in queue, in nanoseconds, under the lock: it must not block. */
    private volatile LongConsumer waits = nanos -> {
    };

    /**
     * @param permits    the sessions (or lanes) there are
     * @param wait       how long a request may wait for a permit before it is refused
     * @param maxWaiting most requests waiting at once
     */
    public Admission(int permits, Duration wait, int maxWaiting) {
        if (permits < 1) {
            throw new IllegalArgumentException("permits must be at least 1: " + permits);
        }
        if (maxWaiting < 0) {
            throw new IllegalArgumentException("maxWaiting must not be negative: " + maxWaiting);
        }
        this.permits = permits;
        this.maxWaiting = maxWaiting;
        this.waitNanos = Math.max(0, wait.toNanos());
    }

    /** Tells {@code observer} each admitted request's time in queue in nanoseconds (a metric's distribution); it must not block. */
    public void observeWaits(LongConsumer observer) {
        waits = Objects.requireNonNull(observer);
    }

    /** How long a request may wait for a permit before it is refused. */
    public Duration maxWait() {
        return Duration.ofNanos(waitNanos);
    }

    /** A second queue of {@code permits} that waits as long and holds as many as this one. */
    public Admission withPermits(int permits) {
        return new Admission(permits, Duration.ofNanos(waitNanos), maxWaiting);
    }

    /** What admission did so far: for metrics and the info endpoint. */
    public record Stats(int permits, int inUse, int waiting, int maxWaiting, long admitted, long refused, long departed, Duration waited) {
    }

    /** A waiting request; {@link #grant} admits it by counting a permit as its own, a newcomer to a full queue may displace it. */
    private final class Waiter {
        final String caller;
        final Condition granted = lock.newCondition();
        boolean admitted, displaced;

        Waiter(String caller) {
            this.caller = caller;
        }
    }

    /**
     * A permit for {@code caller} (null: anonymous; all anonymous requests are one caller), waiting up
     * to the configured time; then refuses with {@link PoolExhaustedException}, whose Retry-After is
     * when a permit is expected to free up.
     */
    public Permit enter(String caller) {
        return enter(caller, () -> false);
    }

    /**
     * As {@link #enter(String)}, for a request whose client may go away while it waits: {@code
     * departed} (asked under this admission's lock, so it must be quick) tells, and then the request
     * leaves the queue with {@link ClientDepartedException}.
     */
    public Permit enter(String caller, BooleanSupplier departed) {
        String key = caller == null ? "" : caller;
        long start = System.nanoTime();
        lock.lock();
        try {
            if (inUse < permits && queued == 0) {
                count(key);
                return admit(key, 0);
            }
            if (waitNanos == 0 || queued >= maxWaiting && !displaceFor(key)) {
                throw refusal();
            }
            Waiter w = new Waiter(key);
            waiting.computeIfAbsent(key, k -> new ArrayDeque<>()).add(w);
            queued++;
            long left = waitNanos;
            try {
                long check = DEPARTURE_CHECK.toNanos();
                while (!w.admitted && !w.displaced && left > 0) {
                    long slept = Math.min(left, check);
                    left -= slept - Math.max(0, w.granted.awaitNanos(slept));
                    if (!w.admitted && !w.displaced && gone(w, departed)) {
                        this.departed++;
                        throw new ClientDepartedException("the client went away while its request waited for a free session");
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (w.admitted) {
                    release(key); // granted, but its request is gone: the permit goes to the next one
                } else {
                    remove(w);
                }
                throw new PoolExhaustedException("interrupted while waiting for a free session", retryAfter());
            }
            if (w.admitted) {
                return admit(key, System.nanoTime() - start);
            }
            if (!w.displaced) {
                remove(w);
            }
            throw refusal();
        } finally {
            lock.unlock();
        }
    }

    /** Asks whether {@code w}'s client went away; if so, or if asking fails, {@code w} leaves the queue. */
    private boolean gone(Waiter w, BooleanSupplier departed) {
        boolean gone = true;
        try {
            gone = departed.getAsBoolean();
            return gone;
        } finally {
            if (gone) {
                remove(w);
            }
        }
    }

    /**
     * In a full queue, refuses the latest waiting request of the caller with the most waiting, if it
     * has at least two more waiting than {@code caller} (so that {@code caller} then has no more than
     * it); returns whether a place was freed.
     */
    private boolean displaceFor(String caller) {
        String crowded = null;
        int most = (waiting.containsKey(caller) ? waiting.get(caller).size() : 0) + 1;
        for (Map.Entry<String, Deque<Waiter>> e : waiting.entrySet()) {
            if (e.getValue().size() > most) {
                most = e.getValue().size();
                crowded = e.getKey();
            }
        }
        if (crowded == null) {
            return false;
        }
        Waiter last = waiting.get(crowded).peekLast();
        remove(last);
        last.displaced = true;
        last.granted.signal();
        return true;
    }

    /**
     * A refusal of a request this admission let in, whose next step stayed busy past its wait (a wide
     * request's wide session): counted with the refusals, so that they tell every 503 of this queue.
     */
    public PoolExhaustedException refuseAdmitted(String message) {
        lock.lock();
        try {
            refused++;
        } finally {
            lock.unlock();
        }
        return new PoolExhaustedException(message, retryAfter());
    }

    private PoolExhaustedException refusal() {
        refused++;
        return new PoolExhaustedException("all " + permits + " sessions are busy; try again shortly", retryAfter());
    }

    /** Counts a permit in use by {@code caller}. */
    private void count(String caller) {
        inUse++;
        held.merge(caller, 1, Integer::sum);
        lastServed.put(caller, ++given);
    }

    /** Returns a permit of {@code caller} and hands it on. */
    private void release(String caller) {
        inUse--;
        if (held.merge(caller, -1, Integer::sum) == 0) {
            held.remove(caller);
        }
        forgetIfIdle(caller);
        grant();
    }

    /** A caller that neither holds nor waits for a permit is forgotten: the maps stay as small as the queue. */
    private void forgetIfIdle(String caller) {
        if (!held.containsKey(caller) && !waiting.containsKey(caller)) {
            lastServed.remove(caller);
        }
    }

    private Permit admit(String caller, long waited) {
        admitted++;
        waitedNanos += waited;
        waits.accept(waited);
        return new Permit(caller);
    }

    private void remove(Waiter w) {
        Deque<Waiter> q = waiting.get(w.caller);
        if (q != null && q.remove(w)) {
            queued--;
            if (q.isEmpty()) {
                waiting.remove(w.caller);
                forgetIfIdle(w.caller);
            }
        }
    }

    /**
     * Hands free permits to the waiting callers holding the fewest; among equals, to the one served
     * least recently (never, for a caller new to the queue), then to the one that waited longest.
     */
    private void grant() {
        while (inUse < permits && queued > 0) {
            String best = null;
            int fewest = Integer.MAX_VALUE;
            long oldest = Long.MAX_VALUE;
            for (String caller : waiting.keySet()) { // insertion order: who started waiting first wins full ties
                int h = held.getOrDefault(caller, 0);
                long served = lastServed.getOrDefault(caller, 0L);
                if (h < fewest || (h == fewest && served < oldest)) {
                    fewest = h;
                    oldest = served;
                    best = caller;
                }
            }
            Deque<Waiter> q = waiting.get(best);
            Waiter w = q.poll();
            queued--;
            if (q.isEmpty()) {
                waiting.remove(best);
            }
            w.admitted = true;
            count(best); // counted now, not when the waiter wakes, so that the next grant sees it
            w.granted.signal();
        }
    }

    public int permits() {
        return permits;
    }

    public Stats stats() {
        lock.lock();
        try {
            return new Stats(permits, inUse, queued, maxWaiting, admitted, refused, departed, Duration.ofNanos(waitedNanos));
        } finally {
            lock.unlock();
        }
    }

    /** The mean hold of a permit shared by the permits: the expected wait until one of them is returned. */
    public Duration retryAfter() {
        return Duration.ofNanos(meanHoldNanos.get() / permits);
    }

    /** A permit; closing it (once) lets the next request in. */
    public final class Permit implements AutoCloseable {
        private final long taken = System.nanoTime();
        private final String caller;
        private boolean released;

        private Permit(String caller) {
            this.caller = caller;
        }

        @Override
        public void close() {
            lock.lock();
            try {
                if (released) {
                    return;
                }
                released = true;
                long hold = System.nanoTime() - taken;
                meanHoldNanos.updateAndGet(mean -> mean + (hold - mean) / 8);
                release(caller);
            } finally {
                lock.unlock();
            }
        }
    }
}
