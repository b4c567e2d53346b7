package dev.moeadapter.core;

/** llama.cpp or the native shim reported a failure that is not the caller's input. */
public class EngineException extends MoeAdapterException {
    public EngineException(String message) {
        super(message);
    }

    public EngineException(String message, Throwable cause) {
        super(message, cause);
    }
}
