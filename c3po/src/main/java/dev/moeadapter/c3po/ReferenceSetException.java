package dev.moeadapter.c3po;

import dev.moeadapter.core.MoeAdapterException;

/** A reference set file is missing, unreadable, truncated or not in the expected format. */
public class ReferenceSetException extends MoeAdapterException {
    public ReferenceSetException(String message) {
        super(message);
    }

    public ReferenceSetException(String message, Throwable cause) {
        super(message, cause);
    }
}
