package dev.moeadapter.core.adaptation;

import dev.moeadapter.core.InvalidRequestException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The settings one adaptation accepts, in order, and the one parser of them: arms' settings
 * (strings from properties), requests' settings (JSON values) and command-line flags all go through
 * {@link #parse}.
 *
 * @param method the adaptation's name, as refusals name it
 * @param specs  its settings, in the order documentation lists them
 */
public record SettingsSchema(String method, List<SettingSpec> specs) {
    public SettingsSchema {
        Objects.requireNonNull(method, "method");
        specs = List.copyOf(specs);
        if (specs.stream().map(SettingSpec::name).distinct().count() != specs.size()) {
            throw new IllegalArgumentException(method + ": two settings share a name");
        }
    }

    /** A method without settings. */
    public static SettingsSchema none(String method) {
        return new SettingsSchema(method, List.of());
    }

    public static SettingsSchema of(String method, SettingSpec... specs) {
        return new SettingsSchema(method, List.of(specs));
    }

    public List<String> names() {
        return specs.stream().map(SettingSpec::name).toList();
    }

    public SettingSpec spec(String name) {
        return specs.stream().filter(s -> s.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException(method + " has no setting '" + name + "'"));
    }

    /**
     * {@code settings} read against this schema: unknown names (the known ones named), wrong types
     * and values out of range are refused with an {@link InvalidRequestException} naming the setting.
     */
    public Values parse(StrategySettings settings) {
        Map<String, SettingSpec> byName = new LinkedHashMap<>();
        specs.forEach(s -> byName.put(s.name(), s));
        Map<String, Object> typed = new TreeMap<>();
        settings.values().forEach((name, raw) -> {
            SettingSpec spec = byName.get(name);
            if (spec == null) {
                throw new InvalidRequestException(specs.isEmpty() ? "adaptation '" + method + "' takes no settings, got '" + name + "'"
                        : "unknown " + method + " setting '" + name + "'; known: " + names());
            }
            typed.put(name, spec.read(method, raw));
        });
        return new Values(this, Collections.unmodifiableMap(typed));
    }

    /** Every setting at its default, as settings write them (e.g. for documentation and round trips). */
    public StrategySettings defaults() {
        Map<String, Object> m = new TreeMap<>();
        specs.forEach(s -> m.put(s.name(), s.defaultText()));
        return StrategySettings.of(m);
    }

    /**
     * Settings as {@link #parse} returned them: only the ones given, each of its spec's type. A
     * method applies each given one on top of its current settings ({@code v.integer("k", k)}).
     */
    public record Values(SettingsSchema schema, Map<String, Object> values) {
        public boolean has(String name) {
            return values.containsKey(check(name, null).name());
        }

        public boolean isEmpty() {
            return values.isEmpty();
        }

        /** An INTEGER setting; the range of its spec keeps it within an int where the spec says so. */
        public int integer(String name, int fallback) {
            Object v = values.get(check(name, SettingSpec.Type.INTEGER).name());
            if (v == null) {
                return fallback;
            }
            long l = (Long) v;
            if (l != (int) l) {
                throw new InvalidRequestException(schema.method() + " setting '" + name + "' must fit an int, got " + l);
            }
            return (int) l;
        }

        public long longInteger(String name, long fallback) {
            Object v = values.get(check(name, SettingSpec.Type.INTEGER).name());
            return v == null ? fallback : (Long) v;
        }

        public double number(String name, double fallback) {
            Object v = values.get(check(name, SettingSpec.Type.NUMBER).name());
            return v == null ? fallback : (Double) v;
        }

        public boolean bool(String name, boolean fallback) {
            Object v = values.get(check(name, SettingSpec.Type.BOOLEAN).name());
            return v == null ? fallback : (Boolean) v;
        }

        /** A CHOICE or TEXT setting, trimmed. */
        public String text(String name, String fallback) {
            SettingSpec spec = check(name, null);
            if (spec.type() != SettingSpec.Type.CHOICE && spec.type() != SettingSpec.Type.TEXT) {
                throw new IllegalArgumentException(name + " is " + spec.type());
            }
            Object v = values.get(name);
            return v == null ? fallback : (String) v;
        }

        private SettingSpec check(String name, SettingSpec.Type type) {
            SettingSpec spec = schema.spec(name);
            if (type != null && spec.type() != type) {
                throw new IllegalArgumentException(schema.method() + " setting '" + name + "' is " + spec.type() + ", not " + type);
            }
            return spec;
        }
    }
}
