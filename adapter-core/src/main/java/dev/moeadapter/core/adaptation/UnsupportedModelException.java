package dev.moeadapter.core.adaptation;

import dev.moeadapter.core.InvalidRequestException;

/**
 * An adaptation method cannot run on this model (its gating, a hash-routed layer, its memory).
 * {@code setting} names the method's setting that asks for what the model lacks, or is null where
 * the method itself cannot run on it.
 */
public class UnsupportedModelException extends InvalidRequestException {
    private final String setting;

    public UnsupportedModelException(String message, String setting) {
        super(message);
        this.setting = setting;
    }

    public String setting() {
        return setting;
    }
}
