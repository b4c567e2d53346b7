package dev.moeadapter.spring.web.tomcat;

import dev.moeadapter.spring.web.ClientDeparture;
import jakarta.servlet.ServletException;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;
import org.apache.coyote.ActionCode;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * Gives each HTTP/1.x request a {@link ClientDeparture} check. Tomcat watches a connection only while
 * it reads or writes, so a request whose body has been read and whose answer has not started (one
 * waiting for admission) would not learn that its client closed the connection. The check makes one
 * non-blocking read of the socket: after a POST's whole body a client sends nothing more on the
 * connection (it must not pipeline after a non-idempotent request, RFC 9112 §9.3.2), so anything the
 * read finds — the end of the stream, a reset, or bytes — means the client is gone or broke the
 * protocol. (A client that only shut its sending side counts as gone too, as nginx and Go's server
 * count it.) The connection is then closed without an answer. Requests over HTTP/2, and requests
 * whose body has not been read whole, always count as present.
 */
public class DepartureProbeValve extends ValveBase {
    public DepartureProbeValve() {
        super(true);
    }

    @Override
    public void invoke(Request request, Response response) throws IOException, ServletException {
        String protocol = request.getProtocol();
        if ("POST".equals(request.getMethod()) && protocol != null && protocol.startsWith("HTTP/1.")) {
            org.apache.coyote.Request coyote = request.getCoyoteRequest();
            request.setAttribute(ClientDeparture.ATTRIBUTE, (BooleanSupplier) () -> departed(coyote));
        }
        getNext().invoke(request, response);
    }

    private static boolean departed(org.apache.coyote.Request coyote) {
        AtomicBoolean bodyRead = new AtomicBoolean();
        coyote.action(ActionCode.REQUEST_BODY_FULLY_READ, bodyRead);
        if (!bodyRead.get()) {
            return false;
        }
        coyote.action(ActionCode.AVAILABLE, Boolean.TRUE); // a non-blocking read; an end of stream or a reset reads as available
        if (coyote.getAvailable() <= 0) {
            return false;
        }
        coyote.action(ActionCode.CLOSE_NOW, null); // nobody to answer: write nothing, close
        return true;
    }
}
