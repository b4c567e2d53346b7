package dev.moeadapter.serving;

import dev.moeadapter.core.InvalidRequestException;

/**
 * A request's field has a value this service refuses; {@code param} names the field as the client
 * sent it and {@code code} says what is wrong, as OpenAI's error objects do.
 */
public class BadParameterException extends InvalidRequestException {
    /** The code of a value out of range or of the wrong kind. */
    public static final String INVALID_VALUE = "invalid_value";
    /** The code of a field this service does not support. */
    public static final String UNSUPPORTED_PARAMETER = "unsupported_parameter";
    /** The code of a prompt longer than the context. */
    public static final String CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded";

    private final String param;
    private final String code;

    public BadParameterException(String param, String message) {
        this(param, INVALID_VALUE, message);
    }

    public BadParameterException(String param, String code, String message) {
        super(message);
        this.param = param;
        this.code = code;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
