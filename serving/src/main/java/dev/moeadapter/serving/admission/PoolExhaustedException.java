package dev.moeadapter.serving.admission;

import dev.moeadapter.core.MoeAdapterException;

import java.time.Duration;

/** No session became free in time: the service is at capacity; the client may retry after {@link #retryAfter()}. */
public class PoolExhaustedException extends MoeAdapterException {
    private final Duration retryAfter;

    public PoolExhaustedException(String message, Duration retryAfter) {
        super(message);
        this.retryAfter = retryAfter;
    }

    public Duration retryAfter() {
        return retryAfter;
    }
}
