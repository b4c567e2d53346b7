package dev.moeadapter.bench;

import dev.moeadapter.core.engine.KvLayout;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** {@code --name value} pairs of a benchmark's command line, by name (without the dashes). */
final class Flags {
    private Flags() {}

    static Map<String, String> parse(String[] args) {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        return a;
    }

    /** {@code --kv-layout unified|per-sequence}, unified without the flag. */
    static KvLayout kvLayout(Map<String, String> a) {
        return KvLayout.valueOf(a.getOrDefault("kv-layout", "unified").toUpperCase(Locale.ROOT).replace('-', '_'));
    }

    /** The whole number a flag gives, or {@code fallback} without the flag. */
    static int integer(Map<String, String> a, String name, int fallback) {
        String v = a.get(name);
        return v == null ? fallback : Integer.parseInt(v);
    }
}
