package dev.moeadapter.serving.batching;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One decode loop over one session: requests decode through {@link LoopLane}s, each holding some of
 * the session's sequences, and every step decodes the rows all waiting lanes submitted as one
 * llama.cpp batch, each row under its own sequence's routing plan. A step starts once no lane still
 * reads the outputs of the previous one (a lane reads until it {@link LoopLane#release releases}
 * them or submits again) and at least one lane waits; it takes the waiting submissions in arrival
 * order while they fit the session's batch size, so a lane waits at most until the rows ahead of it
 * are decoded.
 */
public final class DecodeLoop implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DecodeLoop.class);

    private final Session session;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Deque<Submission> waiting = new ArrayDeque<>();
    private final Set<LoopLane> reading = new HashSet<>();
    private final BitSet free = new BitSet();
    private final LoopLane[] laneOf;
    private final Thread thread;
    private final AtomicLong steps = new AtomicLong(), rows = new AtomicLong();
    private boolean closed;

    public DecodeLoop(Session session) {
        this.session = session;
        this.laneOf = new LoopLane[session.sequences()];
        free.set(0, session.sequences());
        thread = Thread.ofPlatform().name("moe-decode-loop").daemon().start(this::run);
    }

    Session session() {
        return session;
    }

    /** A lane of {@code sequences} of the session's sequences; refused when fewer are free. */
    public LoopLane open(int sequences) {
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the decode loop is closed");
            }
            if (sequences < 1 || sequences > free.cardinality()) {
                throw new InvalidRequestException("a lane of " + sequences + " sequences does not fit: " + free.cardinality() + " of "
                        + laneOf.length + " are free");
            }
            int[] ids = new int[sequences];
            for (int i = 0, s = free.nextSetBit(0); i < sequences; i++, s = free.nextSetBit(s + 1)) {
                ids[i] = s;
                free.clear(s);
            }
            LoopLane lane = new LoopLane(this, ids);
            for (int s : ids) {
                laneOf[s] = lane;
                session.clearSequence(s);
                session.clearPlan(s);
            }
            return lane;
        } finally {
            lock.unlock();
        }
    }

    /** Sequences no lane holds. */
    public int freeSequences() {
        lock.lock();
        try {
            return free.cardinality();
        } finally {
            lock.unlock();
        }
    }

    /** Steps decoded so far. */
    public long steps() {
        return steps.get();
    }

    /** Rows decoded so far, over all steps: rows per step is how much the loop batches. */
    public long rows() {
        return rows.get();
    }

    /** A lane's rows, mapped to the session's sequences, waiting for a step. */
    static final class Submission {
        final LoopLane lane;
        final Batch batch;
        final boolean embeddings;
        int offset = -1;
        RuntimeException failure;
        boolean done;

        Submission(LoopLane lane, Batch batch, boolean embeddings) {
            this.lane = lane;
            this.batch = batch;
            this.embeddings = embeddings;
        }
    }

    /** Queues {@code batch} and waits until a step decoded it; the lane then reads its outputs. */
    int decode(LoopLane lane, Batch batch, boolean embeddings) {
        if (batch.size() > session.batchSize()) {
            throw new InvalidRequestException("batch of " + batch.size() + " tokens exceeds the session's batch size " + session.batchSize());
        }
        Submission s = new Submission(lane, batch, embeddings);
        lock.lock();
        try {
            reading.remove(lane);
            if (lane.aborted()) {
                throw new CancelledException("decode aborted");
            }
            waiting.add(s);
            changed.signalAll();
            while (!s.done) {
                changed.awaitUninterruptibly();
            }
            if (s.failure != null) {
                throw s.failure;
            }
            return s.offset; // the step made the lane a reader: no step starts until it releases

        } finally {
            lock.unlock();
        }
    }

    /** The lane will not read the last step's outputs again. */
    void release(LoopLane lane) {
        lock.lock();
        try {
            if (reading.remove(lane)) {
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Stops the lane's waiting or next submission (not a step in flight: its rows finish, then it fails). */
    void abort(LoopLane lane) {
        lock.lock();
        try {
            for (Submission s : waiting) {
                if (s.lane == lane) {
                    waiting.remove(s);
                    s.failure = new CancelledException("decode aborted");
                    s.done = true;
                    changed.signalAll();
                    break;
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Returns the lane's sequences, emptied, to the free ones. */
    void close(LoopLane lane) {
        lock.lock();
        try {
            reading.remove(lane);
            waiting.removeIf(s -> s.lane == lane);
            for (int s : lane.sequenceIds()) {
                session.clearSequence(s);
                session.clearPlan(s);
                session.setTrace(s, TraceSpec.OFF);
                laneOf[s] = null;
                free.set(s);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        while (true) {
            List<Submission> step = new ArrayList<>();
            lock.lock();
            try {
                while (!closed && (waiting.isEmpty() || !reading.isEmpty())) {
                    changed.awaitUninterruptibly();
                }
                if (closed) {
                    return;
                }
                int size = 0;
                while (!waiting.isEmpty() && size + waiting.peek().batch.size() <= session.batchSize()) {
                    Submission s = waiting.poll();
                    s.offset = size;
                    size += s.batch.size();
                    step.add(s);
                }
            } finally {
                lock.unlock();
            }
            decodeStep(step);
        }
    }

    private void decodeStep(List<Submission> step) {
        Batch.Builder all = Batch.builder();
        boolean embeddings = false;
        for (Submission s : step) {
            Batch b = s.batch;
            for (int i = 0; i < b.size(); i++) {
                all.add(b.token(i), b.position(i), b.sequence(i), b.output(i));
            }
            embeddings |= s.embeddings;
        }
        RuntimeException failure = null;
        try {
            session.setEmbeddings(embeddings);
            session.decode(all.build());
            distribute(session.drainTrace());
            steps.incrementAndGet();
            rows.addAndGet(all.size());
        } catch (InvalidRequestException e) {
            // the batch was refused before any native work: fail the lanes whose rows are wrong, decode the rest
            List<Submission> valid = new ArrayList<>();
            for (Submission s : step) {
                try {
                    session.check(s.batch);
                    valid.add(s);
                } catch (InvalidRequestException wrong) {
                    finish(List.of(s), wrong);
                }
            }
            if (valid.size() < step.size()) {
                if (!valid.isEmpty()) {
                    int offset = 0;
                    for (Submission s : valid) {
                        s.offset = offset;
                        offset += s.batch.size();
                    }
                    decodeStep(valid);
                }
                return;
            }
            failure = e;
        } catch (RuntimeException e) {
            LOG.warn("a decode step of {} lanes failed: {}", step.size(), e.toString());
            failure = e;
        }
        finish(step, failure);
    }

    /** Wakes the step's lanes: with {@code failure}, or as readers of the step's outputs. */
    private void finish(List<Submission> step, RuntimeException failure) {
        lock.lock();
        try {
            for (Submission s : step) {
                s.failure = failure != null ? failure : s.lane.aborted() ? new CancelledException("decode aborted") : null;
                s.done = true;
                if (s.failure == null) {
                    reading.add(s.lane); // before any next step can start, not when the lane's thread wakes
                }
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Each lane gets the trace rows of its own sequences. */
    private void distribute(RouterTrace trace) {
        for (TokenRoute r : trace.routes()) {
            LoopLane lane = laneOf[r.sequence()];
            if (lane != null) {
                lane.traced(r);
            }
        }
        for (TokenProbabilities p : trace.probabilities()) {
            LoopLane lane = laneOf[p.sequence()];
            if (lane != null) {
                lane.traced(p);
            }
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
