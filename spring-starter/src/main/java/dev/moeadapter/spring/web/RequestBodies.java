package dev.moeadapter.spring.web;

import dev.moeadapter.serving.BadParameterException;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.exc.InputCoercionException;
import tools.jackson.core.exc.StreamReadException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.cfg.CoercionAction;
import tools.jackson.databind.cfg.CoercionInputShape;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.exc.UnrecognizedPropertyException;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.type.LogicalType;

import java.util.stream.Collectors;

/**
 * Reads request bodies strictly, whatever the application's own JSON settings: no coercion between
 * kinds ("true" is not a boolean, 1.5 not an integer, 5 not a text), unknown fields refused (a field a client
 * relies on is never silently ignored), no field given twice, nothing after the JSON value.
 */
public final class RequestBodies {
    /** The code of a body that is not JSON, as Spring's own refusal of an empty one has it. */
    public static final String INVALID_JSON = "invalid_json";
    private static final JsonMapper STRICT = JsonMapper.builder()
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION) // {"prompt": "a", "prompt": "b"} means nothing certain
            // a number or boolean where text belongs ("prompt": 5) is refused too, not read as its digits
            .withCoercionConfig(LogicalType.Textual, c -> c.setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Float, CoercionAction.Fail).setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
            .build();

    private RequestBodies() {
    }

    /** The body as {@code type}; a body that does not fit is a {@link BadParameterException} naming the field. */
    public static <T> T read(byte[] body, Class<T> type) {
        try {
            T value = STRICT.readValue(body, type);
            if (value == null) {
                throw new BadParameterException(null, "malformed request body: expected a JSON object");
            }
            return value;
        } catch (InputCoercionException e) {
            throw atField(e); // a number out of its type's range: the field is known
        } catch (StreamReadException e) {
            // not JSON at all (cut short, garbage, NaN): the code an empty body gets too
            throw new BadParameterException(null, INVALID_JSON, "malformed request body: " + firstLine(e.getOriginalMessage()));
        } catch (UnrecognizedPropertyException e) {
            throw new BadParameterException(path(e), BadParameterException.UNSUPPORTED_PARAMETER,
                    "unsupported parameter '" + path(e) + "': this service does not support it");
        } catch (MismatchedInputException e) {
            if (e.getPath().isEmpty() && e.getOriginalMessage() != null && e.getOriginalMessage().startsWith("Trailing token")) {
                throw trailing(body);
            }
            throw atField(e);
        } catch (JacksonException e) {
            throw atField(e);
        }
    }

    /**
     * A body the binder stopped reading before its end: content after the object, or (Jackson reads text out of a
     * nested array, ["a"] where "a" belongs, and then leaves the parser out of step) an array inside an array.
     */
    private static BadParameterException trailing(byte[] body) {
        JsonNode tree;
        try {
            tree = STRICT.readTree(body);
        } catch (JacksonException e) {
            return new BadParameterException(null, INVALID_JSON, "malformed request body: content after the JSON object");
        }
        String nested = nestedArray(tree, "");
        return nested == null ? new BadParameterException(null, "malformed request body")
                : new BadParameterException(nested, "malformed request body at '" + nested + "': an array where a single value belongs");
    }

    /** The path of the first array element that is itself an array, or null. */
    private static String nestedArray(JsonNode node, String path) {
        if (node.isObject()) {
            for (var e : node.properties()) {
                String found = nestedArray(e.getValue(), path.isEmpty() ? e.getKey() : path + "." + e.getKey());
                if (found != null) return found;
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                String at = path + "[" + i + "]";
                if (node.get(i).isArray()) return at;
                String found = nestedArray(node.get(i), at);
                if (found != null) return found;
            }
        }
        return null;
    }

    private static BadParameterException atField(JacksonException e) {
        String path = path(e);
        // a value of the wrong JSON kind is named by the kind expected, not by the Java type it would have become
        String what = e instanceof MismatchedInputException m && m.getTargetType() != null
                ? "expected " + jsonKind(m.getTargetType()) : firstLine(e.getOriginalMessage());
        return new BadParameterException(path.isEmpty() ? null : path, "malformed request body" + (path.isEmpty() ? "" : " at '" + path + "'")
                + ": " + what);
    }

    /** What JSON writes a value of {@code type} as. */
    static String jsonKind(Class<?> type) {
        if (CharSequence.class.isAssignableFrom(type) || type == char.class || type == Character.class || type.isEnum()) return "a string";
        if (type == boolean.class || type == Boolean.class) return "true or false";
        if (type == int.class || type == long.class || type == short.class || type == Integer.class || type == Long.class
                || type == Short.class || type == java.math.BigInteger.class) return "an integer";
        if (type.isPrimitive() || Number.class.isAssignableFrom(type)) return "a number";
        if (type.isArray() || java.util.Collection.class.isAssignableFrom(type)) return "an array";
        return "an object";
    }

    /** The field a problem is at, e.g. "messages[0].content". */
    private static String path(JacksonException e) {
        return e.getPath().stream().map(r -> r.getPropertyName() != null ? "." + r.getPropertyName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining()).replaceFirst("^\\.", "");
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
