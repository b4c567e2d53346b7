package dev.moeadapter.core;

/** The caller asked for something invalid (an index, a length, a value); nothing was changed. */
public class InvalidRequestException extends MoeAdapterException {
    public InvalidRequestException(String message) {
        super(message);
    }
}
