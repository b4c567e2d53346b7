package dev.moeadapter.serving.generation;

import dev.moeadapter.core.engine.FlashAttention;
import dev.moeadapter.core.engine.KvCacheType;
import dev.moeadapter.core.engine.KvLayout;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.serving.batching.DecodeLoop;
import dev.moeadapter.serving.batching.LoopLane;
import dev.moeadapter.core.engine.SessionParams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.moeadapter.serving.admission.ClientDepartedException;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * A fixed set of sessions on one model; a request holds one for its whole generation. It does not
 * queue: admission (a permit per session, {@code dev.moeadapter.serving.admission.Admission}) happens before a session is taken.
 * Only the wide sessions hold the sequences of the most demanding arm (each sequence's KV cells are allocated at start); the
 * others hold {@link DecodeLoop#NARROW_SEQUENCES}, which a plain answer and SCMoE need. A narrow request takes a narrow
 * session while one is free, else a wide one; a wide request (admitted by a queue of the wide sessions' own) waits
 * for a wide session that a narrow request holds.
 */
public final class SessionPool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SessionPool.class);

    /** How often a wide request waiting for a wide session asks whether its client is still there. */
    private static final long DEPARTURE_CHECK_MS = 100;
    private final List<Session> all = new ArrayList<>();
    /** Free sessions, narrow and wide; guarded by {@code this}. */
    private final Queue<Session> free = new ArrayDeque<>(), freeWide = new ArrayDeque<>();
    /** Sequences of the widest session or lane, and the wide sessions (with batching, the one shared session). */
    private final int sequences, wideSessions;
    private final Capacity capacity;
    /** With continuous batching: the one decode loop whose lanes requests hold (else null). */
    private final DecodeLoop loop;

    /**
     * What the pool holds, counted as an operator sizes it: concurrent requests (sessions), sequences
     * and KV cells per session (every sequence of a request can hold {@code kvCellsPerSequence}
     * cells: prompt plus answer), threads per decode of many rows and of a single row, and the attention
     * kernel and KV cache type.
     */
    public record Capacity(int sessions, int sequencesPerSession, int kvCellsPerSession, int kvCellsPerSequence, int threadsPerDecode,
                           int threadsPerSingleRowDecode, FlashAttention flashAttention, KvCacheType kvCache, KvLayout kvLayout) {
        static Capacity of(int sessions, SessionParams params) {
            return new Capacity(sessions, params.sequences(), params.contextSize(), params.contextSize() / params.sequences(),
                    params.batchThreads(), params.threads(), params.flashAttention(), params.kvCache(), params.kvLayout());
        }
    }

    /** {@code size} sessions shaped as {@code params}, every one wide. */
    public SessionPool(Model model, SessionParams params, int size) {
        this(model, params, size, size);
    }

    /**
     * {@code size} sessions, {@code wide} of them shaped as {@code params} and the others with
     * {@link DecodeLoop#NARROW_SEQUENCES} sequences of the same cells each (where {@code params} has more).
     */
    public SessionPool(Model model, SessionParams params, int size, int wide) {
        if (wide < 1 || wide > size) {
            throw new IllegalArgumentException("wide sessions must lie in 1.." + size + ": " + wide);
        }
        this.loop = null;
        this.sequences = params.sequences();
        int narrowSequences = Math.min(sequences, DecodeLoop.NARROW_SEQUENCES);
        this.wideSessions = narrowSequences < sequences ? wide : size;
        this.capacity = Capacity.of(size, params);
        SessionParams narrow = params.withSequences(narrowSequences).withContextSize(params.contextSize() / sequences * narrowSequences);
        try {
            for (int i = 0; i < size; i++) {
                Session s = model.newSession(i < wideSessions ? params : narrow);
                all.add(s);
                (i < wideSessions ? freeWide : free).add(s);
            }
        } catch (RuntimeException e) {
            all.forEach(Session::close);
            throw e;
        }
        LOG.info("session pool ready: {} sessions, {} of them of {} KV cells ({} sequences of {} cells: prompt + answer) and {} of {} "
                        + "({} sequences), batch {}, {} threads each; flash attention {}, {} KV cache, {}", size, wideSessions, params.contextSize(),
                sequences, capacity.kvCellsPerSequence(), size - wideSessions, narrow.contextSize(), narrowSequences,
                params.batchSize(), params.threads(), params.flashAttention(), params.kvCache(), params.kvLayout());
    }

    /**
     * Continuous batching: one session whose decodes run by one {@link DecodeLoop} that batches the
     * rows of every request in flight; a request holds a lane of the sequences its arm needs.
     */
    private SessionPool(Session shared, SessionParams perLane, int lanes, int wideLanes, int laneRows, int prefixSlots) {
        this.sequences = perLane.sequences();
        this.wideSessions = 1;
        all.add(shared);
        this.loop = new DecodeLoop(shared, perLane.sequences(), wideLanes, laneRows, prefixSlots);
        this.capacity = Capacity.of(lanes, perLane);
        LOG.info("decode loop ready: {} lanes of up to {} sequences ({} of them wide: more than {}), {} KV cells each, {} in all, "
                        + "batched into one session; a lane adds at most {} rows to a step (batch {}); {} recent prompts kept for prefix reuse; "
                        + "{} threads ({} for a step of one row); flash attention {}, {} KV cache, {}",
                lanes, perLane.sequences(), loop.wideSlots(), DecodeLoop.NARROW_SEQUENCES, capacity.kvCellsPerSequence(), shared.contextSize(),
                laneRows, shared.batchSize(), prefixSlots, perLane.batchThreads(), perLane.threads(),
                perLane.flashAttention(), perLane.kvCache(), perLane.kvLayout());
    }

    /**
     * Continuous batching over {@code lanes} concurrent requests, each shaped as {@code perLane} and
     * adding at most {@code perLane.batchSize()} rows to a step (at least one per sequence, so that a
     * method can always give each of its sequences a row): the shared session's batch holds that
     * many for every lane, so every step takes every waiting lane's rows. Every lane may hold
     * {@link DecodeLoop#NARROW_SEQUENCES} sequences, at most {@code wideLanes} of them up to
     * {@code perLane.sequences()} (each sequence is a KV stream of a sequence's cells, allocated here);
     * {@code prefixSlots} sequences more keep recent prompts for prefix reuse (a recurrent state is
     * shared only whole: see {@link DecodeLoop}).
     */
    public static SessionPool batched(Model model, SessionParams perLane, int lanes, int wideLanes, int prefixSlots) {
        int laneRows = Math.max(perLane.batchSize(), perLane.sequences());
        int total = Math.addExact(DecodeLoop.laneSequencesFor(lanes, perLane.sequences(), wideLanes), prefixSlots);
        int cells = Math.multiplyExact(perLane.contextSize() / perLane.sequences(), total);
        Session shared = model.newSession(new SessionParams(cells, Math.multiplyExact(laneRows, lanes), total,
                perLane.threads(), perLane.batchThreads(), perLane.flashAttention(), perLane.kvCache(), perLane.kvLayout()));
        try {
            return new SessionPool(shared, perLane, lanes, wideLanes, laneRows, prefixSlots);
        } catch (RuntimeException e) {
            shared.close();
            throw e;
        }
    }

    /** Lanes or sessions that may hold more than {@link DecodeLoop#NARROW_SEQUENCES} sequences at once. */
    public int wideLanes() {
        return loop != null ? loop.wideSlots() : wideSessions;
    }

    /** Whether some lanes or sessions are narrow, so that the wide ones need a queue of their own. */
    public boolean limitsWideLanes() {
        return loop != null ? loop.wideSlots() > 0 : wideSessions < all.size();
    }

    /** Whether a request whose arm needs {@code needed} sequences must hold one of the wide lanes or sessions. */
    public boolean needsWideLane(int needed) {
        return needed > DecodeLoop.NARROW_SEQUENCES && limitsWideLanes();
    }

    /** KV cells allocated, of all sessions (the KV cache's memory is this times a cell's bytes). */
    public long kvCells() {
        return all.stream().mapToLong(Session::contextSize).sum();
    }

    /** Whether requests share one decode loop (continuous batching). */
    public boolean batching() {
        return loop != null;
    }

    /** The decode loop of continuous batching, for its statistics; empty without batching. */
    public Optional<DecodeLoop> loop() {
        return Optional.ofNullable(loop);
    }

    /**
     * A free session with the {@code needed} sequences the request's arm uses, or a lane of the decode
     * loop holding them; the caller holds an admission permit, so there is one, and for a wide request a
     * wide permit too: it waits here only while a narrow request holds the wide session it is due, at
     * most {@code maxWait} (then {@code refusal} is thrown), and leaves with {@link ClientDepartedException}
     * when {@code departed} says its client went away.
     */
    public Lease acquire(int needed, BooleanSupplier departed, Duration maxWait, Supplier<RuntimeException> refusal) {
        if (loop != null) {
            LoopLane lane = loop.open(Math.clamp(needed, 1, sequences));
            return new Lease(lane, lane::close);
        }
        Session s;
        synchronized (this) {
            if (!needsWideLane(needed)) {
                s = free.isEmpty() ? freeWide.poll() : free.poll();
                if (s == null) {
                    throw new IllegalStateException("no free session although admitted: more permits than sessions");
                }
            } else {
                long deadline = System.nanoTime() + Math.max(0, maxWait.toNanos());
                while ((s = freeWide.poll()) == null) {
                    if (departed.getAsBoolean()) {
                        throw new ClientDepartedException("the client went away while its request waited for a wide session");
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw refusal.get();
                    }
                    try {
                        wait(Math.max(1, Math.min(DEPARTURE_CHECK_MS, TimeUnit.NANOSECONDS.toMillis(left))));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new ClientDepartedException("interrupted while waiting for a wide session");
                    }
                }
            }
        }
        Session taken = s;
        return new Lease(taken, () -> giveBack(taken));
    }

    private synchronized void giveBack(Session s) {
        (all.indexOf(s) < wideSessions ? freeWide : free).add(s);
        notifyAll();
    }

    /** Sequences each session has: as many as the most demanding configured arm needs. */
    public int sequences() {
        return sequences;
    }

    public Capacity capacity() {
        return capacity;
    }

    /** Requests that can decode at once: sessions, or the decode loop's lanes. */
    public int size() {
        return loop != null ? capacity.sessions() : all.size();
    }

    public synchronized int available() {
        return loop != null ? loop.freeSlots() : free.size() + freeWide.size();
    }

    @Override
    public void close() {
        if (loop != null) {
            loop.close();
        }
        all.forEach(Session::close);
    }

    /** A session, or a decode loop's lane, on loan; closing returns it. */
    public static final class Lease implements AutoCloseable {
        private final DecodeLane lane;
        private final Runnable giveBack;
        private boolean returned;

        private Lease(DecodeLane lane, Runnable giveBack) {
            this.lane = lane;
            this.giveBack = giveBack;
        }

        /** What the request decodes through. */
        public DecodeLane lane() {
            return lane;
        }

        /**
         * The first {@code length} of the request's prompt tokens, which later requests are likely to
         * repeat (see {@link LoopLane#keepOnTheWay}); a session of its own keeps nothing.
         */
        void repeated(int[] prompt, int length) {
            if (lane instanceof LoopLane l) {
                l.keepOnTheWay(prompt, length);
            }
        }

        @Override
        public void close() {
            if (!returned) {
                returned = true;
                giveBack.run();
            }
        }
    }
}
