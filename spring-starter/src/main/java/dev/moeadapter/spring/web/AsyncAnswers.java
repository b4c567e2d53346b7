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
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Answers that are generated off the request thread (asynchronous servlet requests), so that the
 * container's notice of a client that went away cancels their generation: whole JSON answers and
 * {@link EventStream}s, which are also kept alive while open (a comment per idle interval). A
 * refusal thrown before the first byte is answered as any refusal, with its own status.
 */
public final class AsyncAnswers implements AutoCloseable {
    private final JsonMapper json;
    private final Duration keepAlive;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "moe-sse-keep-alive");
        t.setDaemon(true);
        return t;
    });

    public AsyncAnswers(JsonMapper json, Duration keepAlive) {
        this.json = json;
        this.keepAlive = keepAlive;
    }

    /**
     * A 200 JSON answer that {@code body} generates, stopped when the client goes away. A servlet
     * container only notices a departed client when it writes, so once the answer is underway (its
     * first token made: every refusal comes before that and keeps its own status) a space — JSON's
     * leading whitespace — is written and flushed every keep-alive interval; the write that fails
     * cancels the generation.
     */
    public ResponseEntity<StreamingResponseBody> whole(HttpServletRequest request, HttpServletResponse response, WholeAnswer body) {
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).body(out -> {
            CancellationToken cancel = new CancellationToken();
            cancelWhenGone(request, cancel);
            Probe probe = new Probe(out, response, cancel);
            ScheduledFuture<?> probing = timer.scheduleWithFixedDelay(probe::ping, keepAlive.toMillis(), keepAlive.toMillis(),
                    TimeUnit.MILLISECONDS);
            try {
                Object answer;
                try {
                    answer = body.generate((token, text) -> probe.underway = true, cancel);
                } catch (RuntimeException e) {
                    if (!probe.wrote()) {
                        throw e; // nothing sent: answered as any refusal, with its own status
                    }
                    answer = ApiErrors.body("server_error", null, "server_error", String.valueOf(e.getMessage()));
                }
                probe.finish(json.writeValueAsBytes(answer));
            } finally {
                probing.cancel(false);
            }
        });
    }

    /** Generates a whole answer, telling {@code listener} of each token made. */
    @FunctionalInterface
    public interface WholeAnswer {
        Object generate(TokenListener listener, CancellationToken cancel);
    }

    /** The whole answer's connection check: a flushed space per interval once underway. */
    private static final class Probe {
        private static final byte[] SPACE = {' '};
        private final OutputStream out;
        private final HttpServletResponse response;
        private final CancellationToken cancel;
        volatile boolean underway;
        private boolean finished, wrote;

        Probe(OutputStream out, HttpServletResponse response, CancellationToken cancel) {
            this.out = out;
            this.response = response;
            this.cancel = cancel;
        }

        synchronized void ping() {
            if (!underway || finished || cancel.isCancelled()) {
                return;
            }
            try {
                wrote = true;
                out.write(SPACE);
                response.flushBuffer(); // Spring's body stream ignores flush()
            } catch (IOException | UncheckedIOException e) {
                cancel.cancel(); // the client went away
            }
        }

        /** Whether the 200 went out already (a space was sent), so that a late failure must be the body. */
        synchronized boolean wrote() {
            return wrote;
        }

        synchronized void finish(byte[] answer) throws IOException {
            finished = true;
            out.write(answer);
        }
    }

    /**
     * A 200 answer of server-sent events written by {@code body}. If {@code body} throws before any
     * event went out, the exception propagates and is answered as any refusal, with its own status;
     * after that, {@code onLateFailure} turns it into a last event.
     */
    public ResponseEntity<StreamingResponseBody> stream(HttpServletRequest request, HttpServletResponse response,
                                                        Consumer<EventStream> body, LateFailure onLateFailure) {
        return ResponseEntity.ok().contentType(MediaType.TEXT_EVENT_STREAM).header("Cache-Control", "no-cache").body(out -> {
            EventStream events = new EventStream(json, out, response);
            cancelWhenGone(request, events.cancel());
            ScheduledFuture<?> alive = timer.scheduleWithFixedDelay(events::keepAlive, keepAlive.toMillis(), keepAlive.toMillis(),
                    TimeUnit.MILLISECONDS);
            try {
                body.accept(events);
            } catch (RuntimeException e) {
                if (!events.started()) {
                    throw e;
                }
                onLateFailure.send(events, e);
            } finally {
                alive.cancel(false);
            }
        });
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
    }
}
