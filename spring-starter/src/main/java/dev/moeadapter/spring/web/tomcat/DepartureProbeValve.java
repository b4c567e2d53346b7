package dev.moeadapter.spring.web.tomcat;

import dev.moeadapter.spring.web.ClientDeparture;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletException;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;
import org.apache.coyote.ActionCode;
import org.apache.tomcat.util.net.ApplicationBufferHandler;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * Gives each HTTP/1.x request a {@link ClientDeparture} check. Tomcat watches a connection only while
 * it reads or writes, so a request whose body has been read and whose answer has not started (one
 * waiting for admission) would not learn that its client closed the connection. The check makes one
 * non-blocking read of the socket: after a POST's whole body a client sends nothing more on the
 * connection unless it pipelines (RFC 9112 §9.3.2 says it should not after a POST, but may), so a
 * read that fails — the end of the stream, or a reset — means the client is gone. (A client that
 * only shut its sending side counts as gone too, as nginx and Go's server count it.) The connection
 * is then closed without an answer. Bytes the read finds are the next request's: they stay in
 * Tomcat's buffer and are answered after this one. Requests over HTTP/2, and requests
 * whose body has not been read whole, always count as present.
 */
public class DepartureProbeValve extends ValveBase {
    public DepartureProbeValve() {
        super(true);
    }

    @Override
    public void invoke(Request request, Response response) throws IOException, ServletException {
        String protocol = request.getProtocol();
        if (request.getAttribute(ClientDeparture.ATTRIBUTE) != null // an asynchronous request's dispatch back keeps its check
                || !"POST".equals(request.getMethod()) || protocol == null || !protocol.startsWith("HTTP/1.")) {
            getNext().invoke(request, response);
            return;
        }
        Check check = new Check(request.getCoyoteRequest());
        request.setAttribute(ClientDeparture.ATTRIBUTE, check);
        try {
            getNext().invoke(request, response);
        } finally {
            if (request.isAsyncStarted()) {
                request.getAsyncContext().addListener(check);
            } else {
                check.end();
            }
        }
    }

    /**
     * One request's check, valid while the request lasts. Tomcat recycles a request's objects for the
     * next connection once it is done, so a check asked later (an answer's thread that ends after the
     * container gave its request up) would read, and close, another client's connection: after the
     * request ends it answers "gone" without touching the socket. The end waits for a check under way.
     */
    private static final class Check implements BooleanSupplier, AsyncListener {
        private final org.apache.coyote.Request coyote;
        private boolean ended;

        Check(org.apache.coyote.Request coyote) {
            this.coyote = coyote;
        }

        @Override
        public synchronized boolean getAsBoolean() {
            return ended || departed(coyote);
        }

        synchronized void end() {
            ended = true;
        }

        @Override
        public void onComplete(AsyncEvent event) {
            end();
        }

        @Override
        public void onError(AsyncEvent event) {
            end();
        }

        @Override
        public void onTimeout(AsyncEvent event) {
            end();
        }

        @Override
        public void onStartAsync(AsyncEvent event) {
        }
    }

    private static boolean departed(org.apache.coyote.Request coyote) {
        AtomicBoolean bodyRead = new AtomicBoolean();
        coyote.action(ActionCode.REQUEST_BODY_FULLY_READ, bodyRead);
        if (!bodyRead.get() || buffered(coyote)) {
            return false; // the next request's bytes are buffered: a pipelining client, which is there
        }
        if (!(coyote.getInputBuffer() instanceof ApplicationBufferHandler handler)) {
            return false; // not Tomcat's HTTP/1.1 buffer: no safe read
        }
        ByteBuffer before = handler.getByteBuffer();
        int position = before.position(), limit = before.limit();
        byte[] held = new byte[limit];
        before.get(0, held);
        coyote.action(ActionCode.AVAILABLE, Boolean.TRUE); // a non-blocking read; a failed one (end of stream, reset) reports 1
        boolean found = coyote.getAvailable() > 0;
        ByteBuffer after = handler.getByteBuffer();
        byte[] arrived = new byte[after.remaining()];
        after.get(after.position(), arrived);
        if (found && arrived.length == 0) {
            coyote.action(ActionCode.CLOSE_NOW, null); // nobody to answer: write nothing, close
            return true;
        }
        keepBehind(handler, held, position, arrived);
        return false;
    }

    /**
     * Puts Tomcat's buffer back as it was before the read, with the bytes the read found after it.
     * The read writes from the end of the request's head, over bytes the body's reader may have taken
     * past the body (a request pipelined in the same packets), which Tomcat hands to the next request
     * by stepping back over them once this answer is done.
     */
    private static void keepBehind(ApplicationBufferHandler handler, byte[] held, int position, byte[] arrived) {
        ByteBuffer buffer = handler.getByteBuffer();
        if (buffer.capacity() < held.length + arrived.length) {
            buffer = ByteBuffer.allocate(held.length + arrived.length);
            handler.setByteBuffer(buffer);
        }
        buffer.limit(held.length + arrived.length);
        buffer.put(0, held).put(held.length, arrived);
        buffer.position(position);
    }

    /** Bytes held in Tomcat's input buffer, without reading the socket. */
    private static boolean buffered(org.apache.coyote.Request coyote) {
        coyote.action(ActionCode.AVAILABLE, Boolean.FALSE);
        return coyote.getAvailable() > 0;
    }
}
