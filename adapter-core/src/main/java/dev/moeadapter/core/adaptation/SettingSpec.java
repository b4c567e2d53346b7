package dev.moeadapter.core.adaptation;

import dev.moeadapter.core.InvalidRequestException;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One setting of an adaptation: its name, type, range, default and meaning. The default is the value
 * the method's defaults record holds (read from it, not written again); the range bounds the value
 * as given, before any arithmetic on it.
 *
 * @param name         as arms, requests and command-line flags spell it, e.g. "beta"
 * @param type         how a value is read
 * @param range        numeric bounds (INTEGER and NUMBER; {@link Range#ANY} for none)
 * @param choices      the accepted values of a CHOICE setting (empty otherwise)
 * @param pattern      the form a TEXT setting's value must have (null otherwise)
 * @param format       a TEXT setting's forms in words, e.g. "rank:K | top:M" (null otherwise)
 * @param defaultValue the method's default, as its defaults record holds it (a Float stays a Float)
 * @param meaning      one sentence
 */
public record SettingSpec(String name, Type type, Range range, List<String> choices, Pattern pattern, String format,
                          Object defaultValue, String meaning) {
    /** A number as written in JSON or a properties file: digits, an optional fraction and exponent. */
    private static final Pattern DECIMAL = Pattern.compile("[-+]?+(?:\\d++(?:\\.\\d*+)?+|\\.\\d++)(?:[eE][-+]?+\\d++)?+"); // possessive: linear on long input

    /** How a setting's value is read. */
    public enum Type {
        /** A whole number (a JSON integer or its decimal text). */
        INTEGER,
        /** A finite number. */
        NUMBER,
        /** true or false. */
        BOOLEAN,
        /** One of a fixed list of words. */
        CHOICE,
        /** Text of a given form, e.g. "top:4". */
        TEXT;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public SettingSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(defaultValue, "defaultValue");
        Objects.requireNonNull(meaning, "meaning");
        range = range == null ? Range.ANY : range;
        choices = List.copyOf(choices == null ? List.of() : choices);
        if ((type == Type.CHOICE) == choices.isEmpty()) {
            throw new IllegalArgumentException(name + ": a CHOICE setting, and only one, lists its choices");
        }
        if ((type == Type.TEXT) != (pattern != null && format != null)) {
            throw new IllegalArgumentException(name + ": a TEXT setting, and only one, has a pattern and a format");
        }
        if (range != Range.ANY && type != Type.INTEGER && type != Type.NUMBER) {
            throw new IllegalArgumentException(name + ": only numbers have a range");
        }
    }

    public static SettingSpec integer(String name, Range range, long defaultValue, String meaning) {
        return new SettingSpec(name, Type.INTEGER, range, null, null, null, defaultValue, meaning);
    }

    public static SettingSpec integer(String name, Range range, int defaultValue, String meaning) {
        return new SettingSpec(name, Type.INTEGER, range, null, null, null, defaultValue, meaning);
    }

    public static SettingSpec number(String name, Range range, Number defaultValue, String meaning) {
        return new SettingSpec(name, Type.NUMBER, range, null, null, null, defaultValue, meaning);
    }

    public static SettingSpec bool(String name, boolean defaultValue, String meaning) {
        return new SettingSpec(name, Type.BOOLEAN, null, null, null, null, defaultValue, meaning);
    }

    public static SettingSpec choice(String name, List<String> choices, String defaultValue, String meaning) {
        return new SettingSpec(name, Type.CHOICE, null, choices, null, null, defaultValue, meaning);
    }

    /** @param regex the whole value must match it; {@code format} says the same in words */
    public static SettingSpec text(String name, String regex, String format, String defaultValue, String meaning) {
        return new SettingSpec(name, Type.TEXT, null, null, Pattern.compile(regex), format, defaultValue, meaning);
    }

    /** The accepted values in words: "1..64", "(0, 1]", "kr | mode", "rank:K | top:M", "true | false". */
    public String accepted() {
        return switch (type) {
            case INTEGER, NUMBER -> range.text(type == Type.INTEGER);
            case BOOLEAN -> "true | false";
            case CHOICE -> String.join(" | ", choices);
            case TEXT -> format;
        };
    }

    /**
     * This setting as data (e.g. for JSON): name, type, accepted (in words), range (numbers: min and
     * max, each null where unbounded, and whether each is inclusive), choices (CHOICE), format and
     * pattern (TEXT), default and meaning.
     */
    public Map<String, Object> describe() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("name", name);
        m.put("type", type.label());
        m.put("accepted", accepted());
        if (type == Type.INTEGER || type == Type.NUMBER) {
            Map<String, Object> r = new java.util.LinkedHashMap<>();
            r.put("min", range.min() == null ? null : type == Type.INTEGER ? (Object) range.min().longValue() : range.min());
            r.put("min_inclusive", range.min() != null && range.minInclusive());
            r.put("max", range.max() == null ? null : type == Type.INTEGER ? (Object) range.max().longValue() : range.max());
            r.put("max_inclusive", range.max() != null && range.maxInclusive());
            m.put("range", r);
        }
        if (type == Type.CHOICE) {
            m.put("choices", choices);
        }
        if (type == Type.TEXT) {
            m.put("format", format);
            m.put("pattern", pattern.pattern());
        }
        m.put("default", defaultValue);
        m.put("meaning", meaning);
        return m;
    }

    /** The default as settings write it, e.g. "0.5", "rank:2". */
    public String defaultText() {
        return String.valueOf(defaultValue);
    }

    /**
     * {@code raw} (a string from properties or flags, a JSON number, string or boolean from a client)
     * read as this setting: a Long (INTEGER), Double (NUMBER), Boolean or String.
     *
     * @param method the adaptation, for the refusal
     * @throws InvalidRequestException naming the setting, where the value has the wrong type or is out of range
     */
    public Object read(String method, Object raw) {
        if (raw instanceof Map<?, ?> || raw instanceof Iterable<?> || raw.getClass().isArray()) {
            throw refuse(method, "must be a single value", raw);
        }
        String text = raw.toString().strip(); // whitespace only: a control character stays, for the pattern to refuse
        return switch (type) {
            case INTEGER -> {
                long v = integerOf(method, raw, text);
                if (!range.contains(v)) {
                    throw refuse(method, must(range.text(true)), raw);
                }
                yield v;
            }
            case NUMBER -> {
                double v = numberOf(method, raw, text);
                if (v != 0 && ((float) v == 0 || Float.isInfinite((float) v))) {
                    // the methods compute in float: 1e-300 would become 0 and 1e300 infinity past this check
                    // name the setting's own range too: 0 passes the float check but not every range (c > 0)
                    throw refuse(method, "must lie within a float's range (a magnitude from 1.4e-45 to 3.4e38) and "
                            + must(range.text(false)).replaceFirst("^must ", ""), raw);
                }
                if (!range.contains(v)) {
                    throw refuse(method, must(range.text(false)), raw);
                }
                yield v;
            }
            case BOOLEAN -> {
                if (raw instanceof Boolean b) {
                    yield b;
                }
                if (!text.equals("true") && !text.equals("false")) {
                    throw refuse(method, "must be true or false", raw);
                }
                yield Boolean.parseBoolean(text);
            }
            case CHOICE -> {
                if (!(raw instanceof CharSequence) || !choices.contains(text)) {
                    throw refuse(method, "must be " + words(choices), raw);
                }
                yield text;
            }
            case TEXT -> {
                if (!(raw instanceof CharSequence) || !pattern.matcher(text).matches()) {
                    throw refuse(method, "must be " + words(List.of(format.split(" \\| "))) + (defaultText().isEmpty() ? "" : " (e.g. " + defaultText() + ")"), raw);
                }
                yield text;
            }
        };
    }

    private long integerOf(String method, Object raw, String text) {
        try {
            if (raw instanceof Number n) {
                BigDecimal d = n instanceof BigDecimal b ? b : n instanceof BigInteger i ? new BigDecimal(i) : new BigDecimal(n.toString());
                return d.longValueExact(); // refuses fractions and values beyond a long
            }
            if (raw instanceof CharSequence) {
                return Long.parseLong(text);
            }
        } catch (ArithmeticException | NumberFormatException e) {
            // refused below
        }
        throw refuse(method, "must be an integer" + (range == Range.ANY ? "" : " " + must(range.text(true)).substring(8)), raw);
    }

    private double numberOf(String method, Object raw, String text) {
        double v = Double.NaN;
        if (raw instanceof Number n) {
            v = n.doubleValue();
        } else if (raw instanceof CharSequence && DECIMAL.matcher(text).matches()) { // not Java's "1d", "0x1p3" or "Infinity"
            v = Double.parseDouble(text);
        }
        if (!Double.isFinite(v)) {
            throw refuse(method, "must be a finite number" + (range == Range.ANY ? "" : " " + must(range.text(false)).substring(8)), raw);
        }
        return v;
    }

    /** "a, b or c". */
    private static String words(List<String> alternatives) {
        int n = alternatives.size();
        return n == 1 ? alternatives.getFirst() : String.join(", ", alternatives.subList(0, n - 1)) + " or " + alternatives.get(n - 1);
    }

    /** "must be in 1..64", "must be in (0, 1]", "must be >= 0". */
    private static String must(String range) {
        return range.startsWith(">") || range.startsWith("<") ? "must be " + range
                : "must be in " + range;
    }

    private InvalidRequestException refuse(String method, String must, Object raw) {
        return new InvalidRequestException(method + " setting '" + name + "' " + must + ", got '" + raw + "'");
    }

    /**
     * Numeric bounds, each inclusive or not; a null bound is none.
     */
    public record Range(Double min, boolean minInclusive, Double max, boolean maxInclusive) {
        public static final Range ANY = new Range(null, false, null, false);

        /** [min, max]. */
        public static Range closed(double min, double max) {
            return new Range(min, true, max, true);
        }

        /** (min, max]. */
        public static Range above(double min, double max) {
            return new Range(min, false, max, true);
        }

        /** [min, ∞). */
        public static Range atLeast(double min) {
            return new Range(min, true, null, false);
        }

        /** (min, ∞). */
        public static Range greaterThan(double min) {
            return new Range(min, false, null, false);
        }

        public boolean contains(double v) {
            return (min == null || (minInclusive ? v >= min : v > min)) && (max == null || (maxInclusive ? v <= max : v < max));
        }

        /** "1..64" for integers, "(0, 1]", ">= 0", "> 0", "any" otherwise. */
        public String text(boolean integers) {
            if (min == null && max == null) {
                return "any";
            }
            if (max == null) {
                return (minInclusive ? ">= " : "> ") + num(min);
            }
            if (min == null) {
                return (maxInclusive ? "<= " : "< ") + num(max);
            }
            if (integers && minInclusive && maxInclusive) {
                return num(min) + ".." + num(max);
            }
            return (minInclusive ? "[" : "(") + num(min) + ", " + num(max) + (maxInclusive ? "]" : ")");
        }

        private static String num(double v) {
            return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.valueOf(v);
        }
    }
}
