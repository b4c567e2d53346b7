package dev.moeadapter.spring.policy;

import dev.moeadapter.core.MoeAdapterException;

/** A request named its arm or sent its own settings, and its policy does not allow that. */
public class OverrideNotAllowedException extends MoeAdapterException {
    public OverrideNotAllowedException(String message) {
        super(message);
    }
}
