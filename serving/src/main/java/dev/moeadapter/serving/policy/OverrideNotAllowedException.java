package dev.moeadapter.serving.policy;

import dev.moeadapter.core.MoeAdapterException;

/** A request named a policy, its arm or its own settings where that is not allowed; {@code param} names the field. */
public class OverrideNotAllowedException extends MoeAdapterException {
    private final String param;

    public OverrideNotAllowedException(String param, String message) {
        super(message);
        this.param = param;
    }

    public String param() {
        return param;
    }
}
