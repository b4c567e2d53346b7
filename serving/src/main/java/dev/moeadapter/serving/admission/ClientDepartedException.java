package dev.moeadapter.serving.admission;

import dev.moeadapter.core.MoeAdapterException;

/** The client of a request waiting for admission went away: there is nobody left to answer. */
public class ClientDepartedException extends MoeAdapterException {
    public ClientDepartedException(String message) {
        super(message);
    }
}
