package dev.moeadapter.core.adaptation;

import dev.moeadapter.core.InvalidRequestException;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * Named settings of one adaptation, as an operator configures them for an arm (strings) or a client
 * sends them with a request (JSON numbers, strings, booleans). Methods read them through their
 * {@link SettingsSchema}, which names the setting in every refusal.
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

    /** A stable text form (sorted by name), e.g. for cache keys and logs. */
    @Override
    public String toString() {
        return values.toString();
    }
}
