package dev.moeadapter.spring.web;

import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletResponse;
import tools.jackson.databind.json.JsonMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A stream's writes as a departed client meets them: the bytes of the event after the departure still
 * go out (the reset they draw comes back later), and the write when the generator next asks whether
 * to go on is the one that fails.
 */
class EventStreamTest {

    /**
     * A client's end of the connection. Once it is gone, what is flushed to it draws a reset; here the
     * reset comes back only after two flushes (a distant client, or a busy machine), so the event's own
     * two writes both go out, and the write after them fails.
     */
    static final class Peer extends ByteArrayOutputStream {
        boolean gone, reset;
        int flushedSinceGone;

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            if (reset) {
                throw new java.io.UncheckedIOException(new IOException("Connection reset by peer"));
            }
            super.write(b, off, len);
        }

        @Override
        public void flush() {
            if (gone && ++flushedSinceGone == 2) {
                reset = true;
            }
        }
    }

    @Test
    void aCommentLineFollowsEachEventWhenTheGeneratorNextAsks() {
        Peer peer = new Peer();
        EventStream events = streamTo(peer);
        assertThat(events.cancel().isCancelled()).isFalse();
        assertThat(peer.toString(StandardCharsets.UTF_8)).isEqualTo("data: {\"type\":\"token\"}\n\n:\n");
    }

    @Test
    void aClientThatLeftIsFoundBeforeTheNextTokenEvenWhenItsResetComesLate() {
        Peer peer = new Peer();
        EventStream events = streamTo(peer);
        peer.gone = true;
        events.send(Map.of("type", "token")); // goes out whole: its reset comes back after it
        assertThat(events.cancel().isCancelled()).as("the write when the generator asks meets the reset").isTrue();
    }

    @Test
    void aClientThatLeftIsFoundByTheContainersCheckAfterATokenThatWroteNothing() {
        Peer peer = new Peer();
        AtomicBoolean departed = new AtomicBoolean();
        EventStream events = streamTo(peer, departed::get);
        departed.set(true); // the client left; the next token completes no character, so nothing is written
        assertThat(events.cancel().isCancelled()).as("the generator's next question asks the container").isTrue();
        int written = peer.size();
        events.send(Map.of("type", "token"));
        assertThat(peer.size()).as("nothing more is written to a connection the container closed").isEqualTo(written);
    }

    /** A stream to {@code peer} that sent one event, and whose generator then asked once whether to go on. */
    private static EventStream streamTo(Peer peer) {
        return streamTo(peer, () -> false);
    }

    private static EventStream streamTo(Peer peer, BooleanSupplier departed) {
        EventStream events = new EventStream(JsonMapper.shared(), peer, new FlushingResponse(peer), departed);
        events.send(Map.of("type", "token"));
        assertThat(events.cancel().isCancelled()).isFalse();
        return events;
    }

    /** A response whose flush flushes the peer's stream, as the container's does. */
    static final class FlushingResponse extends MockHttpServletResponse {
        private final Peer peer;

        FlushingResponse(Peer peer) {
            this.peer = peer;
        }

        @Override
        public void flushBuffer() {
            peer.flush();
        }
    }
}
