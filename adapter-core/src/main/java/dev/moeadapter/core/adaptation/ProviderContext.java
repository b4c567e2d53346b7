package dev.moeadapter.core.adaptation;

import dev.moeadapter.core.engine.ModelInfo;

import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * What a method's host gives it: the result cache, the served model's description, and further
 * collaborators looked up by type (C3PO's reference set and embedder), which a host may not have.
 */
public interface ProviderContext {
    ResultCache cache();

    /** The model the method will run on. */
    ModelInfo model();

    /** A collaborator of type {@code type} the host provides, if any. */
    <T> Optional<T> lookup(Class<T> type);

    /** A collaborator the method cannot do without: refused with {@code why} where absent. */
    default <T> T require(Class<T> type, String method, String why) {
        return lookup(type).orElseThrow(() -> new IllegalStateException(method + " needs a " + type.getSimpleName() + " (" + why
                + "), and this host provides none"));
    }

    /** A context whose collaborators come from {@code lookup} (e.g. an application context's beans). */
    static ProviderContext of(ModelInfo model, ResultCache cache, Function<Class<?>, Object> lookup) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(cache, "cache");
        Objects.requireNonNull(lookup, "lookup");
        return new ProviderContext() {
            @Override
            public ResultCache cache() {
                return cache;
            }

            @Override
            public ModelInfo model() {
                return model;
            }

            @Override
            public <T> Optional<T> lookup(Class<T> type) {
                return Optional.ofNullable(lookup.apply(type)).map(type::cast);
            }
        };
    }

    /** A context with the given collaborators, each found by any type it is an instance of. */
    static ProviderContext of(ModelInfo model, ResultCache cache, Object... collaborators) {
        return of(model, cache, type -> Arrays.stream(collaborators).filter(type::isInstance).findFirst().orElse(null));
    }
}
