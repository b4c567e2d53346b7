package dev.moeadapter.spring.web;

import dev.moeadapter.core.generation.CancellationToken;
import jakarta.servlet.http.HttpServletResponse;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.function.BooleanSupplier;
import java.nio.charset.StandardCharsets;

/**
 * One answer's server-sent events. Each event is flushed to the client as it is sent (through the
 * servlet response: Spring's body stream ignores flush). Nothing is written before the first event
 * or keep-alive comment, so a refusal found before then is answered with its own status
 * ({@link #started()}). A client that went away — seen when a write fails ({@link #writeInTwo}): an
 * event, the comment line written after it when the generator next asks its cancellation token
 * ({@link #settle()}), or a keep-alive comment written while the answer is idle ({@link #keepAlive()})
 * — cancels the generation.
 */
public final class EventStream {
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] KEEP_ALIVE = ":\n\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] CHECK = ":\n".getBytes(StandardCharsets.UTF_8);

    private final JsonMapper json;
    private final OutputStream out;
    private final HttpServletResponse response;
    private final BooleanSupplier departed;
    private final CancellationToken cancel = new CancellationToken(this::settle);
    private boolean started;
    private boolean idle;
    private boolean unsettled;
    private boolean closed;
    private boolean settling;

    /** {@code departed}: the container's departure check ({@link ClientDeparture}). */
    EventStream(JsonMapper json, OutputStream out, HttpServletResponse response, BooleanSupplier departed) {
        this.json = json;
        this.out = out;
        this.response = response;
        this.departed = departed;
    }

    /** Cancelled when the client has gone away. */
    public CancellationToken cancel() {
        return cancel;
    }

    /** Sends {@code event} as one {@code data:} line of JSON, unless the client is gone. */
    public void send(Object event) {
        write(("data: " + json.writeValueAsString(event) + "\n\n").getBytes(StandardCharsets.UTF_8));
    }

    /** Sends {@code event} as one {@code data:} line of JSON named {@code name} (an {@code event:} line), unless the client is gone. */
    public void send(String name, Object event) {
        write(("event: " + name + "\ndata: " + json.writeValueAsString(event) + "\n\n").getBytes(StandardCharsets.UTF_8));
    }

    /** Ends the stream the way OpenAI's clients expect. */
    public void done() {
        write(DONE);
    }

    /** Whether any byte went out: from then on the status is 200 and a failure can only be an event. */
    public synchronized boolean started() {
        return started;
    }

    /**
     * Called periodically: when nothing was sent since the last call, writes an SSE comment (clients
     * skip it), which finds a client that left while the answer is idle, e.g. during an adaptation.
     */
    synchronized void keepAlive() {
        if (idle) {
            writeLocked(KEEP_ALIVE);
        }
        idle = true;
    }

    private synchronized void write(byte[] bytes) {
        unsettled = writeLocked(bytes);
        idle = false;
    }

    /**
     * When the generator next asks whether to go on: a comment line (clients skip it) after the last
     * event. The reset a departed client answered that event with has arrived by then, so this write
     * fails and no further token is made, even where the reset came too late for the event's own
     * second write. Then the container's departure check (a read of the connection), which finds a
     * client that left after a token that completed no text (nothing was written for it).
     */
    private synchronized void settle() {
        if (settling) {
            return; // asked again by the write's own look at the token
        }
        settling = true;
        try {
            if (unsettled) {
                unsettled = false;
                writeLocked(CHECK);
            }
            if (!closed && departed.getAsBoolean()) {
                closed = true; // the container closed the connection: nothing more to write to it
                cancel.cancel();
            }
        } finally {
            settling = false;
        }
    }

    /** No write after this: the answer is over (a keep-alive may still be on its way). */
    synchronized void close() {
        closed = true;
    }

    /**
     * Whether the client still takes the answer's events: it was not cancelled, or only because its time ran
     * out (an expired answer still ends its stream the documented way).
     */
    public boolean takesEvents() {
        return !cancel.isCancelled() || cancel.isExpired();
    }

    /** Whether the bytes went out; a client that is gone refuses them, which cancels the answer. */
    private boolean writeLocked(byte[] bytes) {
        if (closed || !takesEvents()) {
            return false;
        }
        try {
            started = true;
            writeInTwo(out, response, bytes);
            return true;
        } catch (IOException | UncheckedIOException e) {
            cancel.cancel(); // the client went away: stop generating
            return false;
        }
    }

    /**
     * Writes {@code bytes} (at least two) as two flushed writes. A peer that closed its end answers
     * the first with a reset, which on a nearby client arrives before the second: that write fails,
     * so a departure is seen at the write that follows it, not one token later.
     */
    static void writeInTwo(OutputStream out, HttpServletResponse response, byte[] bytes) throws IOException {
        out.write(bytes, 0, bytes.length - 1);
        response.flushBuffer();
        out.write(bytes, bytes.length - 1, 1);
        response.flushBuffer();
    }
}
