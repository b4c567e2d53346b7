package dev.moeadapter.core.adaptation;

import dev.moeadapter.core.InvalidRequestException;

import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Named settings of one adaptation, as an operator configures them for an arm (strings) or a client
 * sends them with a request (JSON numbers, strings, booleans). Strategies read them with the typed
 * getters, which name the setting in every refusal.
 */
public record StrategySettings(Map<String, Object> values) {
    public static final StrategySettings NONE = new StrategySettings(Map.of());

    public StrategySettings {
        TreeMap<String, Object> sorted = new TreeMap<>();
        values.forEach((k, v) -> {
            if (k == null || k.isBlank() || v == null) {
                throw new InvalidRequestException("a setting needs a name and a value, got " + k + "=" + v);
            }
            sorted.put(k, v);
        });
        values = Collections.unmodifiableMap(sorted);
    }

    public static StrategySettings of(Map<String, ?> values) {
        // the constructor copies and checks; Map.copyOf would throw on a client's null value first
        return values == null || values.isEmpty() ? NONE : new StrategySettings(Collections.unmodifiableMap(values));
    }

    public boolean isEmpty() {
        return values.isEmpty();
    }

    /** These settings with {@code overrides} replacing values of the same name. */
    public StrategySettings merge(StrategySettings overrides) {
        if (overrides.isEmpty()) {
            return this;
        }
        TreeMap<String, Object> merged = new TreeMap<>(values);
        merged.putAll(overrides.values);
        return new StrategySettings(merged);
    }

    /** Refuses names the strategy does not know, so that a typo is not silently ignored. */
    public void requireOnly(String strategy, Set<String> known) {
        for (String name : values.keySet()) {
            if (!known.contains(name)) {
                throw new InvalidRequestException("unknown " + strategy + " setting '" + name + "'; known: " + new TreeSet<>(known));
            }
        }
    }

    public float floatValue(String name, float fallback) {
        Object v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            float f = v instanceof Number n ? n.floatValue() : Float.parseFloat(v.toString().trim());
            if (!Float.isFinite(f)) {
                throw new NumberFormatException();
            }
            return f;
        } catch (NumberFormatException e) {
            throw new InvalidRequestException("setting '" + name + "' must be a finite number, got '" + v + "'");
        }
    }

    public int intValue(String name, int fallback) {
        Object v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            if (v instanceof Number n) {
                if (n.doubleValue() != Math.rint(n.doubleValue()) || Math.abs(n.doubleValue()) > Integer.MAX_VALUE) {
                    throw new NumberFormatException();
                }
                return n.intValue();
            }
            return Integer.parseInt(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new InvalidRequestException("setting '" + name + "' must be an integer, got '" + v + "'");
        }
    }

    public String stringValue(String name, String fallback) {
        Object v = values.get(name);
        if (v == null) {
            return fallback;
        }
        if (v instanceof Map<?, ?> || v instanceof Iterable<?>) {
            throw new InvalidRequestException("setting '" + name + "' must be a single value, got " + v);
        }
        return v.toString();
    }

    /** A stable text form (sorted by name), e.g. for cache keys and logs. */
    @Override
    public String toString() {
        return values.toString();
    }
}
