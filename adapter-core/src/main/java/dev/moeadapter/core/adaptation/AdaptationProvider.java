package dev.moeadapter.core.adaptation;

import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * An adaptation method as a plug-in: each method module names its provider in
 * {@code META-INF/services/dev.moeadapter.core.adaptation.AdaptationProvider}, and hosts (the
 * service, the evaluation harness, the benchmarks) find it with {@link ServiceLoader}.
 */
public interface AdaptationProvider {
    /** The method's name in policies, requests, metrics and reports, e.g. "scmoe". */
    String name();

    /** Every setting the method takes, with its type, range, default and meaning. */
    SettingsSchema schema();

    /**
     * What the method, with {@code settings} on top of its defaults, needs of a model and of a
     * session's capacity.
     *
     * @throws dev.moeadapter.core.InvalidRequestException where the settings are refused
     */
    Requirements requirements(StrategySettings settings);

    /**
     * Why the method cannot be built in {@code context} (e.g. a collaborator it needs is absent), or
     * empty where it can.
     */
    default Optional<String> unavailable(ProviderContext context) {
        return Optional.empty();
    }

    /**
     * The method with {@code settings} on top of its defaults.
     *
     * @throws dev.moeadapter.core.InvalidRequestException where the settings are refused
     * @throws IllegalStateException where {@link #unavailable} says why it cannot be built
     */
    AdaptationStrategy create(ProviderContext context, StrategySettings settings);

    /** What a method needs: of the model's routing and memory, and sequences of a session per request. */
    record Requirements(ModelRequirements model, int sequences) {
        public Requirements {
            if (sequences < 1) {
                throw new IllegalArgumentException("a method needs at least one sequence, got " + sequences);
            }
        }
    }

    /** The providers on {@code loader}'s class path, sorted by name. */
    static List<AdaptationProvider> all(ClassLoader loader) {
        return ServiceLoader.load(AdaptationProvider.class, loader).stream().map(ServiceLoader.Provider::get)
                .sorted(java.util.Comparator.comparing(AdaptationProvider::name)).toList();
    }

    /** The providers on this class's class path, sorted by name. */
    static List<AdaptationProvider> all() {
        return all(AdaptationProvider.class.getClassLoader());
    }

    /** The provider named {@code name}, if one is on the class path. */
    static Optional<AdaptationProvider> named(String name) {
        return all().stream().filter(p -> p.name().equals(name)).findFirst();
    }
}
