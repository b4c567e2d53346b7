package dev.moeadapter.spring.web;

import dev.moeadapter.core.generation.CancellationToken;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Writes server-sent events; a client that went away cancels the generation feeding them. */
public final class ServerSentEvents {
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);

    private ServerSentEvents() {
    }

    /** Sends {@code event} as one {@code data:} line of JSON, unless the stream is already cancelled. */
    public static void send(JsonMapper json, OutputStream out, Object event, CancellationToken cancel) {
        write(out, ("data: " + json.writeValueAsString(event) + "\n\n").getBytes(StandardCharsets.UTF_8), cancel);
    }

    /** Ends the stream the way OpenAI's clients expect. */
    public static void done(OutputStream out, CancellationToken cancel) {
        write(out, DONE, cancel);
    }

    private static void write(OutputStream out, byte[] bytes, CancellationToken cancel) {
        if (cancel.isCancelled()) {
            return;
        }
        try {
            out.write(bytes);
            out.flush();
        } catch (IOException | UncheckedIOException e) {
            cancel.cancel(); // the client went away: stop generating
        }
    }
}
