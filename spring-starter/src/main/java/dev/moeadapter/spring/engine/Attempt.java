package dev.moeadapter.spring.engine;

import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.TokenListener;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One strategy's attempt at an answer under a time budget. The budget runs until the first token
 * reaches the client: from then on the answer is committed (a streamed client already has part of
 * it) and runs to its end. Whichever comes first — first token or expiry — wins atomically.
 */
final class Attempt implements TokenListener {
    private static final int RUNNING = 0, ANSWERING = 1, EXPIRED = 2, DONE = 3;

    private final AtomicInteger state = new AtomicInteger(RUNNING);
    private final TokenListener client;
    private final CancellationToken token;
    private final Session session;
    private final long started = System.nanoTime();
    private volatile long firstTokenAt;

    Attempt(TokenListener client, CancellationToken clientCancel, Session session) {
        this.client = client;
        this.token = clientCancel.child();
        this.session = session;
    }

    /** Cancelled when the client goes away or the budget expires. */
    CancellationToken token() {
        return token;
    }

    @Override
    public void onToken(int tokenId, String text) {
        if (state.get() == RUNNING && state.compareAndSet(RUNNING, ANSWERING)) {
            firstTokenAt = System.nanoTime();
        }
        if (state.get() == ANSWERING) {
            client.onToken(tokenId, text);
        }
    }

    /** Gives up on the attempt if it has not started answering: stops it between tokens and inside a decode. */
    void expire() {
        if (state.compareAndSet(RUNNING, EXPIRED)) {
            token.cancel();
            session.abortDecode();
        }
    }

    /** Ends the attempt; false if the budget had expired first. */
    boolean finish() {
        int s;
        do {
            s = state.get();
            if (s == EXPIRED) {
                return false;
            }
        } while (s != DONE && !state.compareAndSet(s, DONE));
        return true;
    }

    /** Whether text reached the client (then a failure can no longer be answered plainly). */
    boolean answered() {
        return firstTokenAt != 0;
    }

    long started() {
        return started;
    }

    /** System.nanoTime() of the first token, or 0 if there was none. */
    long firstTokenAt() {
        return firstTokenAt;
    }

    /** Time the strategy took before its first token (all of it if it produced none). */
    long adaptationNanos() {
        long first = firstTokenAt;
        return (first == 0 ? System.nanoTime() : first) - started;
    }
}
