package dev.moeadapter.core;

/** The session's KV cache has no room for the batch; remove sequences or use a larger context. */
public class ContextFullException extends MoeAdapterException {
    public ContextFullException(String message) {
        super(message);
    }
}
