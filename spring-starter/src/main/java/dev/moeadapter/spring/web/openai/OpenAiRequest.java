package dev.moeadapter.spring.web.openai;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.core.engine.ChatMessage;
import dev.moeadapter.serving.BadParameterException;
import dev.moeadapter.serving.generation.GenerationCommand;
import dev.moeadapter.serving.generation.ModelNotFoundException;
import dev.moeadapter.spring.web.RoutingTraceOption;
import tools.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The fields {@code /v1/chat/completions} and {@code /v1/completions} share. Fields OpenAI defines
 * but this service cannot honour are refused, not ignored (unknown fields are refused when the body
 * is read; {@code user}, a string that only labels the end user, is read and not used). Values are held to
 * OpenAI's ranges; an absent temperature is OpenAI's default, 1. {@code policy}, {@code arm},
 * {@code settings} and {@code routing_trace} are our extensions, as on the native endpoint: without
 * them the policy assigns the arm; {@code arm} and {@code settings} need a policy that allows
 * overrides, {@code routing_trace} that or an arm that lets clients read its routing.
 */
interface OpenAiRequest {
    /** OpenAI's sampling temperature when a request gives none. */
    double DEFAULT_TEMPERATURE = 1;
    /** OpenAI's highest temperature. */
    double MAX_TEMPERATURE = 2;
    /** OpenAI's most stop sequences. */
    int MAX_STOP = 4;

    String model();

    Integer n();

    Double temperature();

    Double topP();

    Long seed();

    List<String> stop();

    Boolean stream();

    StreamOptions streamOptions();

    Double presencePenalty();

    Double frequencyPenalty();

    String policy();

    String arm();

    Map<String, Object> settings();

    RoutingTraceOption routingTrace();

    /**
     * {@code stream_options}: with {@code include_usage} a last chunk carries the token counts;
     * {@code include_obfuscation} may only be false (chunks carry no padding here).
     */
    record StreamOptions(@JsonProperty("include_usage") Boolean includeUsage,
                         @JsonProperty("include_obfuscation") Boolean includeObfuscation) {
    }

    /** OpenAI's bounds on {@code metadata}: at most 16 pairs, keys up to 64 characters, string values up to 512. */
    int MAX_METADATA = 16, MAX_METADATA_KEY = 64, MAX_METADATA_VALUE = 512;

    /**
     * {@code metadata}, tags OpenAI keeps with a stored answer and this service, which stores none, only
     * checks: null or an object within OpenAI's bounds.
     */
    static boolean metadataWithinBounds(JsonNode v) {
        if (!v.isObject() || v.size() > MAX_METADATA) {
            return false;
        }
        for (var e : v.properties()) {
            String key = e.getKey();
            if (key.codePointCount(0, key.length()) > MAX_METADATA_KEY || !e.getValue().isString()
                    || e.getValue().stringValue().codePointCount(0, e.getValue().stringValue().length()) > MAX_METADATA_VALUE) {
                return false;
            }
        }
        return true;
    }

    /** Whether a field is absent or empty: null, [] or {}. */
    static boolean empty(JsonNode v) {
        return v == null || v.isNull() || (v.isContainer() && v.isEmpty());
    }

    /**
     * A field OpenAI defines that clients often send at a value that asks for nothing: accepted as null
     * or at a value {@code asksNothing} accepts (a default that changes nothing here), refused at any other.
     */
    record NoOp<R>(String name, Function<R, JsonNode> field, Predicate<JsonNode> asksNothing) {
        /** Only null asks for nothing. */
        static final Predicate<JsonNode> ONLY_NULL = v -> false;
        /** {@code false} asks for nothing. */
        static final Predicate<JsonNode> FALSE = v -> v.isBoolean() && !v.booleanValue();

        /** One of these strings asks for nothing. */
        static Predicate<JsonNode> oneOf(String... values) {
            List<String> accepted = List.of(values);
            return v -> v.isString() && accepted.contains(v.asString());
        }
    }

    /** Refuses the first of {@code fields} that {@code request} gives (absent: Java null) at a value that asks for something. */
    static <R> void refuseUnlessNoOp(R request, List<NoOp<R>> fields) {
        for (NoOp<R> f : fields) {
            JsonNode value = f.field().apply(request);
            if (value != null && !value.isNull() && !f.asksNothing().test(value)) {
                throw new BadParameterException(f.name(), BadParameterException.UNSUPPORTED_PARAMETER,
                        "unsupported parameter '" + f.name() + "': this service does not support it (only at a value that asks for nothing, e.g. null)");
            }
        }
    }

    default boolean streaming() {
        return Boolean.TRUE.equals(stream());
    }

    default boolean includeUsage() {
        return streaming() && streamOptions() != null && Boolean.TRUE.equals(streamOptions().includeUsage());
    }

    /** A refusal of the service, which names the fields of its own command, in this request's words. */
    default BadParameterException inOwnWords(BadParameterException e) {
        return e;
    }

    /** Refuses what the engine would not see or OpenAI would refuse: an unknown model, several choices, penalties, ranges. */
    default void check(String servedModel) {
        if (model() == null || model().isBlank()) {
            throw new BadParameterException("model", "you must provide a model parameter; this service serves '" + servedModel + "'");
        }
        if (!model().equals(servedModel)) {
            throw new ModelNotFoundException(model(), servedModel);
        }
        if (streamOptions() != null && !streaming()) {
            throw new BadParameterException("stream_options", "stream_options is only allowed when stream is true");
        }
        if (streamOptions() != null && Boolean.TRUE.equals(streamOptions().includeObfuscation())) {
            throw new BadParameterException("stream_options.include_obfuscation", BadParameterException.UNSUPPORTED_PARAMETER,
                    "stream_options.include_obfuscation is not supported (leave it out or false)");
        }
        if (n() != null && n() != 1) {
            throw new BadParameterException("n", BadParameterException.UNSUPPORTED_PARAMETER,
                    "n must be 1: this service returns one choice per request, got " + n());
        }
        if (presencePenalty() != null && presencePenalty() != 0) {
            throw new BadParameterException("presence_penalty", BadParameterException.UNSUPPORTED_PARAMETER,
                    "presence_penalty is not supported (leave it 0)");
        }
        if (frequencyPenalty() != null && frequencyPenalty() != 0) {
            throw new BadParameterException("frequency_penalty", BadParameterException.UNSUPPORTED_PARAMETER,
                    "frequency_penalty is not supported (leave it 0)");
        }
        if (temperature() != null && !(temperature() >= 0 && temperature() <= MAX_TEMPERATURE)) {
            throw new BadParameterException("temperature", "temperature must be in [0, 2], got " + temperature());
        }
        if (stop() != null && stop().size() > MAX_STOP) {
            throw new BadParameterException("stop", "at most " + MAX_STOP + " stop sequences, got " + stop().size());
        }
    }

    default GenerationCommand command(String prompt, List<ChatMessage> messages, Integer maxTokens, String callerKey) {
        return new GenerationCommand(prompt, messages, maxTokens, temperature() == null ? DEFAULT_TEMPERATURE : temperature(), null,
                topP(), null, seed(), stop(), policy(), arm(), settings(), callerKey,
                RoutingTraceOption.toRequest(routingTrace()));
    }
}
