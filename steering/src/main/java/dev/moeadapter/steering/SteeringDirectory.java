package dev.moeadapter.steering;

import java.nio.file.Path;
import java.util.Objects;

/** Where a host keeps the steering files that the {@code file} setting names (by name, never by path). */
public record SteeringDirectory(Path path) {
    public SteeringDirectory {
        Objects.requireNonNull(path, "path");
    }
}
