package dev.moeadapter.serving.generation;

import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A fixed set of sessions on one model; a request holds one for its whole generation. It does not
 * queue: admission (a permit per session, {@code dev.moeadapter.serving.admission.Admission}) happens before a session is taken.
 */
public final class SessionPool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SessionPool.class);

    private final List<Session> all = new ArrayList<>();
    private final Queue<Session> free = new ConcurrentLinkedQueue<>();
    private final int sequences;
    private final Capacity capacity;

    /**
     * What the pool holds, counted as an operator sizes it: concurrent requests (sessions), sequences
     * and KV cells per session (every sequence of a request can hold {@code kvCellsPerSequence}
     * cells: prompt plus answer), and threads per decode.
     */
    public record Capacity(int sessions, int sequencesPerSession, int kvCellsPerSession, int kvCellsPerSequence, int threadsPerDecode) {
    }

    public SessionPool(Model model, SessionParams params, int size) {
        this.sequences = params.sequences();
        this.capacity = new Capacity(size, params.sequences(), params.contextSize(), params.contextSize() / params.sequences(), params.threads());
        for (int i = 0; i < size; i++) {
            Session s = model.newSession(params);
            all.add(s);
            free.add(s);
        }
        LOG.info("session pool ready: {} sessions of {} KV cells ({} sequences of {} cells: prompt + answer), batch {}, {} threads each",
                size, params.contextSize(), params.sequences(), capacity.kvCellsPerSequence(), params.batchSize(), params.threads());
    }

    /** A free session; the caller holds an admission permit, so there is one. */
    public Lease acquire() {
        Session s = free.poll();
        if (s == null) {
            throw new IllegalStateException("no free session although admitted: more permits than sessions");
        }
        return new Lease(s);
    }

    /** Sequences each session has: as many as the most demanding configured arm needs. */
    public int sequences() {
        return sequences;
    }

    public Capacity capacity() {
        return capacity;
    }

    public int size() {
        return all.size();
    }

    public int available() {
        return free.size();
    }

    @Override
    public void close() {
        all.forEach(Session::close);
    }

    /** A session on loan; closing returns it. */
    public final class Lease implements AutoCloseable {
        private final Session session;
        private boolean returned;

        private Lease(Session session) {
            this.session = session;
        }

        public Session session() {
            return session;
        }

        @Override
        public void close() {
            if (!returned) {
                returned = true;
                free.add(session);
            }
        }
    }
}
