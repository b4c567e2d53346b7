package dev.moeadapter.serving;

import dev.moeadapter.core.adaptation.AdaptationStrategy;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The adaptation strategies available in this service, by name. */
public final class AdaptationRegistry {
    private final Map<String, AdaptationStrategy> byName = new TreeMap<>();

    public AdaptationRegistry(List<AdaptationStrategy> strategies) {
        for (AdaptationStrategy s : strategies) {
            if (byName.putIfAbsent(s.name(), s) != null) {
                throw new IllegalStateException("two adaptation strategies are named '" + s.name() + "'");
            }
        }
        if (!byName.containsKey("none")) {
            throw new IllegalStateException("the plain generation strategy 'none' is missing");
        }
    }

    public AdaptationStrategy get(String name) {
        AdaptationStrategy s = byName.get(name == null ? "none" : name);
        if (s == null) {
            throw new BadParameterException("arm", "unknown adaptation '" + name + "'; available: " + byName.keySet());
        }
        return s;
    }

    public List<String> names() {
        return List.copyOf(byName.keySet());
    }
}
