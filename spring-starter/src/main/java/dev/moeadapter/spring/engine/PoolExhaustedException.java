package dev.moeadapter.spring.engine;

import dev.moeadapter.core.MoeAdapterException;

/** No session became free in time: the service is at capacity. */
public class PoolExhaustedException extends MoeAdapterException {
    public PoolExhaustedException(String message) {
        super(message);
    }
}
