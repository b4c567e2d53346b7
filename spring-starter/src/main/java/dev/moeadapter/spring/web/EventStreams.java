package dev.moeadapter.spring.web;

import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import tools.jackson.databind.json.JsonMapper;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** Opens {@link EventStream}s and keeps them alive while they are open: a comment per idle interval. */
public final class EventStreams implements AutoCloseable {
    private final JsonMapper json;
    private final Duration keepAlive;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "moe-sse-keep-alive");
        t.setDaemon(true);
        return t;
    });

    public EventStreams(JsonMapper json, Duration keepAlive) {
        this.json = json;
        this.keepAlive = keepAlive;
    }

    /**
     * A 200 answer of server-sent events written by {@code body}. If {@code body} throws before any
     * event went out, the exception propagates and is answered as any refusal, with its own status;
     * after that, {@code onLateFailure} turns it into a last event.
     */
    public ResponseEntity<org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody> open(
            HttpServletResponse response, Consumer<EventStream> body, LateFailure onLateFailure) {
        return ResponseEntity.ok().contentType(MediaType.TEXT_EVENT_STREAM).header("Cache-Control", "no-cache").body(out -> {
            EventStream events = new EventStream(json, out, response);
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
