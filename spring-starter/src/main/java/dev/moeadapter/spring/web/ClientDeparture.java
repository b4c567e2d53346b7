package dev.moeadapter.spring.web;

import jakarta.servlet.http.HttpServletRequest;

import java.util.function.BooleanSupplier;

/**
 * Whether a request's client has gone away, as far as the servlet container can tell before any byte
 * of the answer is written: asked while the request waits for admission, so that a departed client's
 * request leaves the queue instead of taking a permit. The container's part (with Tomcat,
 * {@link dev.moeadapter.spring.web.tomcat.DepartureProbeValve}) puts the check in a request attribute;
 * on a container without one the client counts as present until a write fails.
 */
public final class ClientDeparture {
    /** The request attribute holding the container's check, a {@link BooleanSupplier}. */
    public static final String ATTRIBUTE = ClientDeparture.class.getName();

    private ClientDeparture() {
    }

    public static BooleanSupplier of(HttpServletRequest request) {
        return request.getAttribute(ATTRIBUTE) instanceof BooleanSupplier check ? check : () -> false;
    }
}
