package dev.moeadapter.serving.feedback;

import dev.moeadapter.core.MoeAdapterException;

/** Feedback named a request id that is not (or no longer) known. */
public class UnknownRequestException extends MoeAdapterException {
    public UnknownRequestException(String message) {
        super(message);
    }
}
