package dev.moeadapter.spring.engine;

import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/** A fixed set of sessions on one model; a request holds one for its whole generation. */
public final class SessionPool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SessionPool.class);

    private final List<Session> all = new ArrayList<>();
    private final BlockingQueue<Session> free;

    public SessionPool(Model model, SessionParams params, int size) {
        free = new ArrayBlockingQueue<>(size);
        for (int i = 0; i < size; i++) {
            Session s = model.newSession(params);
            all.add(s);
            free.add(s);
        }
        LOG.info("session pool ready: {} sessions, context {}, batch {}, {} sequences, {} threads each",
                size, params.contextSize(), params.batchSize(), params.sequences(), params.threads());
    }

    /** Waits up to {@code timeout} for a session; throws {@link PoolExhaustedException} if none frees up. */
    public Lease acquire(Duration timeout) {
        try {
            Session s = free.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (s == null) {
                throw new PoolExhaustedException("all " + all.size() + " sessions are busy; try again shortly", Duration.ofSeconds(1));
            }
            return new Lease(s);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PoolExhaustedException("interrupted while waiting for a session", Duration.ofSeconds(1));
        }
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
