package dev.moeadapter.core;

/** A model file could not be loaded: missing, unreadable, not a GGUF, or unsupported by llama.cpp. */
public class ModelLoadException extends MoeAdapterException {
    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
