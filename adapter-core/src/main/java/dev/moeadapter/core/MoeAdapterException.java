package dev.moeadapter.core;

/** Base of every exception the adapter throws on purpose. */
public class MoeAdapterException extends RuntimeException {
    public MoeAdapterException(String message) {
        super(message);
    }

    public MoeAdapterException(String message, Throwable cause) {
        super(message, cause);
    }
}
