package dev.moeadapter.spring.web;

import dev.moeadapter.core.MoeAdapterException;

/** A URL named a policy the service does not have. */
public class UnknownPolicyException extends MoeAdapterException {
    public UnknownPolicyException(String message) {
        super(message);
    }
}
