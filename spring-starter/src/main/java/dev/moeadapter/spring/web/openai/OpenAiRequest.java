package dev.moeadapter.spring.web.openai;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.ChatMessage;
import dev.moeadapter.spring.engine.GenerationCommand;
import dev.moeadapter.spring.engine.ModelNotFoundException;

import java.util.List;
import java.util.Map;

/**
 * The fields {@code /v1/chat/completions} and {@code /v1/completions} share. Fields OpenAI defines
 * but this service cannot honour are refused, not ignored. {@code policy}, {@code arm} and
 * {@code settings} are our extensions, as on the native endpoint: without them the policy assigns
 * the arm; {@code arm} and {@code settings} need a policy that allows overrides.
 */
interface OpenAiRequest {
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

    /** {@code stream_options}: with {@code include_usage} a last chunk carries the token counts. */
    record StreamOptions(@JsonProperty("include_usage") Boolean includeUsage) {
    }

    default boolean streaming() {
        return Boolean.TRUE.equals(stream());
    }

    default boolean includeUsage() {
        return streaming() && streamOptions() != null && Boolean.TRUE.equals(streamOptions().includeUsage());
    }

    /** Refuses what the engine would not see: an unknown model, several choices, penalties. */
    default void check(String servedModel) {
        if (model() == null || model().isBlank()) {
            throw new InvalidRequestException("you must provide a model parameter; this service serves '" + servedModel + "'");
        }
        if (!model().equals(servedModel)) {
            throw new ModelNotFoundException(model(), servedModel);
        }
        if (n() != null && n() != 1) {
            throw new InvalidRequestException("n must be 1: this service returns one choice per request, got " + n());
        }
        if (presencePenalty() != null && presencePenalty() != 0 || frequencyPenalty() != null && frequencyPenalty() != 0) {
            throw new InvalidRequestException("presence_penalty and frequency_penalty are not supported (leave them 0)");
        }
    }

    default GenerationCommand command(String prompt, List<ChatMessage> messages, Integer maxTokens, String callerKey) {
        return new GenerationCommand(prompt, messages, maxTokens, temperature(), null, topP(), null, seed(), stop(),
                policy(), arm(), settings(), callerKey);
    }
}
