package dev.moeadapter.serving.guard;

import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.FinishReason;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.TokenListener;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One strategy's attempt at an answer under a time budget that covers all of its work. Expiry
 * before the first token gives the attempt up (plain generation may answer instead); expiry after
 * it cuts the answer where it is (the client already has part of it). Whichever comes first, a
 * token or expiry, wins atomically; once expired, nothing more reaches the client.
 */
final class Attempt implements TokenListener.PerToken {
    /** Where an attempt ended. */
    enum End {
        /** it finished (or failed) on its own */
        DONE,
        /** its budget ran out before the first token */
        EXPIRED,
        /** its budget ran out after the first token: the answer ends there */
        CUT
    }

    private static final int RUNNING = 0, ANSWERING = 1, EXPIRED = 2, CUT = 3, DONE = 4;

    private final AtomicInteger state = new AtomicInteger(RUNNING);
    private final TokenListener client;
    private final CancellationToken token;
    private final DecodeLane session;
    private final long started = System.nanoTime();
    private volatile long firstTokenAt;
    private final StringBuilder sent = new StringBuilder();
    private int[] sentTokens = new int[16];
    private int sentCount;

    Attempt(TokenListener client, CancellationToken clientCancel, DecodeLane session) {
        this.client = client;
        this.token = clientCancel.child();
        this.session = session;
    }

    /** Cancelled when the client goes away or the budget expires. */
    CancellationToken token() {
        return token;
    }

    @Override
    public synchronized void onTokens(int[] tokens, String text) {
        if (state.compareAndSet(RUNNING, ANSWERING)) {
            firstTokenAt = System.nanoTime();
        }
        if (state.get() == ANSWERING) {
            sent.append(text);
            if (sentCount + tokens.length > sentTokens.length) {
                sentTokens = Arrays.copyOf(sentTokens, Math.max(sentCount + tokens.length, sentCount * 2));
            }
            System.arraycopy(tokens, 0, sentTokens, sentCount, tokens.length);
            sentCount += tokens.length;
            client.onTokens(tokens, text);
        }
    }

    /** The budget ran out: stops the attempt between tokens and inside a decode. */
    void expire() {
        if (state.compareAndSet(RUNNING, EXPIRED) || state.compareAndSet(ANSWERING, CUT)) {
            token.cancel();
            session.abortDecode();
        }
    }

    /** Ends the attempt (no expiry can follow) and says how it ended. */
    End finish() {
        while (true) {
            int s = state.get();
            if (s == EXPIRED) {
                return End.EXPIRED;
            }
            if (s == CUT) {
                return End.CUT;
            }
            if (s == DONE || state.compareAndSet(s, DONE)) {
                return End.DONE;
            }
        }
    }

    /** What reached the client, as a result cut at this point (the strategy's own result may be lost to an abort). */
    synchronized GenerationResult sentSoFar(int promptTokens) {
        return new GenerationResult(sent.toString(), Arrays.copyOf(sentTokens, sentCount), promptTokens, FinishReason.CANCELLED,
                0, System.nanoTime() - started);
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
