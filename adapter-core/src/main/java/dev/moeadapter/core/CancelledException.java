package dev.moeadapter.core;

/** A decode or generation was cancelled by its caller. */
public class CancelledException extends MoeAdapterException {
    public CancelledException(String message) {
        super(message);
    }
}
