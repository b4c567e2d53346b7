package dev.moeadapter.serving;

/**
 * A serving configuration that cannot work; {@code path} names the setting in the configuration's
 * own terms (e.g. {@code policies.ab.arms.x.weight}), null for the configuration as a whole, so that
 * a host can name it in its own property syntax.
 */
public class ServingConfigException extends IllegalStateException {
    private final String path;

    public ServingConfigException(String path, String message) {
        super(path == null ? message : path + ": " + message);
        this.path = path;
    }

    public ServingConfigException(String path, String message, Throwable cause) {
        this(path, message);
        initCause(cause);
    }

    public String path() {
        return path;
    }

    /** The message without the path. */
    public String reason() {
        String m = getMessage();
        return path == null ? m : m.substring(path.length() + 2);
    }
}
