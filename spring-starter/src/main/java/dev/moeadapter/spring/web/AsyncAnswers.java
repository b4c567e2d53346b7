package dev.moeadapter.spring.web;

import dev.moeadapter.core.generation.CancellationToken;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;
import tools.jackson.databind.json.JsonMapper;

import dev.moeadapter.core.generation.TokenListener;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Answers that are generated off the request thread (asynchronous servlet requests), so that the
 * container's notice of a client that went away cancels their generation: whole JSON answers and
 * {@link EventStream}s, which are also kept alive while open (a comment per idle interval). A
 * refusal thrown before the first byte is answered as any refusal, with its own status.
 *
 * <p>Each answer is generated on a platform thread of its own, whatever thread the servlet
 * container lends: a decode is a native call, which holds a virtual thread's carrier for its whole
 * length, so two decodes on virtual threads would hold both carriers of a two-processor machine and
 * leave none to the container (health probes, admission timers, other clients). Admission bounds
 * how many answers generate at once.
 */
public final class AsyncAnswers implements AutoCloseable {
    /** How much longer than an answer may take the container waits before it gives the request up. */
    public static final Duration CONTAINER_GRACE = Duration.ofMinutes(1);
    private final JsonMapper json;
    private final Duration keepAlive, answerTimeout;
    private final WholeAnswerProbe probe;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "moe-sse-keep-alive");
        t.setDaemon(true);
        return t;
    });
    private final ExecutorService generating = Executors.newCachedThreadPool(Thread.ofPlatform().name("moe-answer-", 1).daemon().factory());

    public AsyncAnswers(JsonMapper json, Duration keepAlive) {
        this(json, keepAlive, WholeAnswerProbe.NATIVE, Duration.ofMinutes(10));
    }

    /**
     * {@code probe}: which endpoints' whole answers write spaces as they go (see {@link #whole});
     * {@code answerTimeout}: the longest an answer may take, after which its generation stops and the
     * answer ends where it is, as one whose time budget ran out (the container gives the request up
     * only {@link #CONTAINER_GRACE} later, so that this end still reaches the client).
     */
    public AsyncAnswers(JsonMapper json, Duration keepAlive, WholeAnswerProbe probe, Duration answerTimeout) {
        this.json = json;
        this.keepAlive = keepAlive;
        this.probe = probe;
        this.answerTimeout = answerTimeout;
    }

    /**
     * A 200 JSON answer that {@code body} generates, stopped when the client goes away. A servlet
     * container only notices a departed client when it writes, so a whole answer writes spaces —
     * JSON's leading whitespace — as it goes: a space after each token and another when the
     * generator next asks whether to go on (a peer that closed its end answers the first with a
     * reset, which has arrived by then, so the second write fails and no further token is made),
     * and while no token comes (an adaptation at work) a pair per keep-alive interval, as a stream's
     * keep-alive comment does. A refusal found
     * before the first space keeps its own status; a failure after it is the body {@code {"error": …}}.
     * Without the probe (the OpenAI-compatible endpoints by default, see {@link WholeAnswerProbe}) nothing
     * is written before the answer is done, so every refusal and failure keeps its own status.
     */
    public ResponseEntity<StreamingResponseBody> whole(HttpServletRequest request, HttpServletResponse response, WholeAnswer body) {
        return whole(request, response, probe.probes(false), body);
    }

    /**
     * As {@link #whole}, for an OpenAI-compatible endpoint: without the probe unless
     * {@code moe.adapter.whole-answer-probe=all}, so that status and body go out when the answer is done.
     */
    public ResponseEntity<StreamingResponseBody> wholeAsOpenAi(HttpServletRequest request, HttpServletResponse response, WholeAnswer body) {
        return whole(request, response, probe.probes(true), body);
    }

    private ResponseEntity<StreamingResponseBody> whole(HttpServletRequest request, HttpServletResponse response, boolean probeWhole,
                                                        WholeAnswer body) {
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).body(out -> onPlatformThread(() -> {
            Probe probe = new Probe(out, response, probeWhole, ClientDeparture.of(request));
            CancellationToken cancel = probe.cancel;
            cancelWhenGone(request, cancel);
            ScheduledFuture<?> probing = timer.scheduleWithFixedDelay(offTimer(probe::idle), keepAlive.toMillis(), keepAlive.toMillis(),
                    TimeUnit.MILLISECONDS);
            ScheduledFuture<?> expiry = expireInTime(cancel);
            try {
                Object answer;
                try {
                    answer = body.generate((token, text) -> probe.token(), cancel);
                } catch (RuntimeException e) {
                    if (!probe.wrote()) {
                        throw e; // nothing sent: answered as any refusal, with its own status
                    }
                    answer = ApiErrors.body("server_error", null, "server_error", String.valueOf(e.getMessage()));
                }
                probe.finish(json.writeValueAsBytes(answer));
            } finally {
                expiry.cancel(false);
                probing.cancel(false);
                probe.close(); // a periodic write still queued on the pool must not reach a response that is done
            }
        }));
    }

    /** Expires {@code cancel} once the answer has taken {@code answerTimeout}; cancel the returned future when it is done. */
    private ScheduledFuture<?> expireInTime(CancellationToken cancel) {
        return timer.schedule(cancel::expire, answerTimeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * {@code write}, one answer's periodic write, as the timer's task: run on a thread of the answers'
     * pool, never on the timer's own, and skipped while its last run still runs. A write to a client
     * that stopped reading blocks until the connection's timeout; on the one timer thread it would hold
     * up every other answer's keep-alive and departure check.
     */
    Runnable offTimer(Runnable write) {
        AtomicBoolean running = new AtomicBoolean();
        return () -> {
            if (!running.compareAndSet(false, true)) {
                return;
            }
            try {
                generating.execute(() -> {
                    try {
                        write.run();
                    } finally {
                        running.set(false);
                    }
                });
            } catch (RejectedExecutionException e) { // closing down
                running.set(false);
            }
        };
    }

    /** An answer's work, which writes to the response. */
    @FunctionalInterface
    interface Work {
        void run() throws IOException;
    }

    /**
     * Runs {@code work} on a platform thread of its own and waits for it, rethrowing what it threw. The
     * container interrupts the wait when it gives the request up (the client went away, or its time ran
     * out): the answer's cancellation has been asked for by then (the request's error and timeout notices
     * cancel it), the work is interrupted too, and nothing is left to answer, so the wait returns quietly.
     */
    void onPlatformThread(Work work) throws IOException {
        Future<?> done = generating.submit(() -> {
            work.run();
            return null;
        });
        try {
            done.get();
        } catch (InterruptedException e) {
            done.cancel(true);
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            switch (e.getCause()) {
                case IOException io -> throw io;
                case RuntimeException re -> throw re;
                case Error err -> throw err;
                default -> throw new IllegalStateException(e.getCause());
            }
        }
    }

    /** Generates a whole answer, telling {@code listener} of each token made. */
    @FunctionalInterface
    public interface WholeAnswer {
        Object generate(TokenListener listener, CancellationToken cancel);
    }

    /**
     * The whole answer's connection check. With the probe: a space per token and one when the
     * generator next asks its cancellation token, and two per idle keep-alive interval. Without it,
     * nothing is written: after each token and per idle interval the container's departure check
     * ({@link ClientDeparture}, a non-blocking read of the connection, which after a POST's body
     * finds only its end) is asked instead, so that a client that left (an SDK's timeout) stops its
     * answer within a token there too. Either way the check is also asked whenever the generator asks
     * whether to go on, which covers tokens that complete no text.
     */
    private static final class Probe {
        private static final byte[] SPACES = {' ', ' '};
        private static final byte[] SPACE = {' '};
        private final OutputStream out;
        private final HttpServletResponse response;
        private final boolean enabled;
        private final BooleanSupplier departed;
        final CancellationToken cancel = new CancellationToken(this::settle);
        private boolean finished, wrote, quiet, unsettled, gone, settling;

        Probe(OutputStream out, HttpServletResponse response, boolean enabled, BooleanSupplier departed) {
            this.out = out;
            this.response = response;
            this.enabled = enabled;
            this.departed = departed;
        }

        synchronized void token() {
            quiet = false;
            if (enabled) {
                unsettled = write(SPACE);
            } else {
                checkDeparture();
            }
        }

        /**
         * When the generator asks whether to go on: the second write of a token's probe, and the
         * container's departure check, which also covers tokens that complete no text (the first part
         * of a split character), for which no listener is told, and work between tokens.
         */
        private synchronized void settle() {
            if (settling) {
                return; // asked again by the write's or the check's own look at the token
            }
            settling = true;
            try {
                if (unsettled) {
                    unsettled = false;
                    write(SPACE);
                }
                checkDeparture();
            } finally {
                settling = false;
            }
        }

        /** Per keep-alive interval: writes (or asks the container) only when no token came since the last call. */
        synchronized void idle() {
            if (quiet) {
                if (enabled) {
                    write(SPACES);
                } else {
                    checkDeparture();
                }
            }
            quiet = true;
        }

        private void checkDeparture() {
            if (!finished && !cancel.isCancelled() && departed.getAsBoolean()) {
                gone = true; // the container closed the connection: nothing to write the answer to
                cancel.cancel();
            }
        }

        /** Whether the bytes went out (a client that is gone refuses them, which cancels the answer). */
        private boolean write(byte[] bytes) {
            if (!enabled || finished || cancel.isCancelled()) {
                return false;
            }
            try {
                wrote = true;
                if (bytes.length == 1) {
                    out.write(bytes);
                    response.flushBuffer();
                } else {
                    EventStream.writeInTwo(out, response, bytes);
                }
                return true;
            } catch (IOException | UncheckedIOException e) {
                cancel.cancel(); // the client went away
                return false;
            }
        }

        /** Whether the 200 went out already, so that a late failure must be the body. */
        synchronized boolean wrote() {
            return wrote;
        }

        synchronized void finish(byte[] answer) throws IOException {
            finished = true;
            if (!gone) {
                out.write(answer);
            }
        }

        /** No write after this: the answer is written, or refused with its own status. */
        synchronized void close() {
            finished = true;
        }
    }

    /**
     * A 200 answer of server-sent events written by {@code body}. If {@code body} throws before any
     * event went out, the exception propagates and is answered as any refusal, with its own status;
     * after that, {@code onLateFailure} turns it into a last event.
     */
    public ResponseEntity<StreamingResponseBody> stream(HttpServletRequest request, HttpServletResponse response,
                                                        Consumer<EventStream> body, LateFailure onLateFailure) {
        return ResponseEntity.ok().contentType(MediaType.TEXT_EVENT_STREAM).header("Cache-Control", "no-cache").body(out -> onPlatformThread(() -> {
            EventStream events = new EventStream(json, out, response, ClientDeparture.of(request));
            cancelWhenGone(request, events.cancel());
            ScheduledFuture<?> alive = timer.scheduleWithFixedDelay(offTimer(events::keepAlive), keepAlive.toMillis(), keepAlive.toMillis(),
                    TimeUnit.MILLISECONDS);
            ScheduledFuture<?> expiry = expireInTime(events.cancel());
            try {
                body.accept(events);
            } catch (RuntimeException e) {
                if (!events.started()) {
                    throw e;
                }
                onLateFailure.send(events, e);
            } finally {
                expiry.cancel(false);
                alive.cancel(false);
                events.close(); // a keep-alive still queued on the pool must not reach a response that is done
            }
        }));
    }

    /** The container reports a client that went away as an error of the asynchronous request. */
    private static void cancelWhenGone(HttpServletRequest request, CancellationToken cancel) {
        request.getAsyncContext().addListener(new AsyncListener() {
            @Override
            public void onError(AsyncEvent event) {
                cancel.cancel();
            }

            @Override
            public void onTimeout(AsyncEvent event) {
                cancel.cancel();
            }

            @Override
            public void onComplete(AsyncEvent event) {
            }

            @Override
            public void onStartAsync(AsyncEvent event) {
            }
        });
    }

    /** Sends a failure that happened after the first event as the stream's last event. */
    @FunctionalInterface
    public interface LateFailure {
        void send(EventStream events, RuntimeException failure);
    }

    @Override
    public void close() {
        timer.shutdownNow();
        generating.shutdownNow();
    }
}
