package dev.moeadapter.spring.web.openai;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.core.engine.ChatMessage;
import dev.moeadapter.serving.BadParameterException;
import dev.moeadapter.serving.generation.GenerationCommand;
import dev.moeadapter.serving.generation.GenerationService;
import dev.moeadapter.spring.web.RoutingTraceOption;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Body of {@code POST /v1/chat/completions}; {@code logprobs} may only be false. */
public record ChatCompletionRequest(
        String model,
        List<Message> messages,
        @JsonProperty("max_tokens") Integer maxTokens,
        @JsonProperty("max_completion_tokens") Integer maxCompletionTokens,
        Double temperature,
        @JsonProperty("top_p") Double topP,
        Long seed,
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> stop,
        Integer n,
        Boolean stream,
        @JsonProperty("stream_options") StreamOptions streamOptions,
        @JsonProperty("presence_penalty") Double presencePenalty,
        @JsonProperty("frequency_penalty") Double frequencyPenalty,
        List<JsonNode> tools,
        Boolean logprobs,
        String policy,
        String arm,
        Map<String, Object> settings,
        @JsonProperty("routing_trace") RoutingTraceOption routingTrace,
        String user,
        @JsonProperty("response_format") JsonNode responseFormat,
        @JsonProperty("tool_choice") JsonNode toolChoice,
        @JsonProperty("parallel_tool_calls") JsonNode parallelToolCalls,
        JsonNode store,
        JsonNode metadata,
        @JsonProperty("logit_bias") JsonNode logitBias,
        @JsonProperty("top_logprobs") JsonNode topLogprobs,
        JsonNode modalities,
        @JsonProperty("service_tier") JsonNode serviceTier,
        @JsonProperty("reasoning_effort") JsonNode reasoningEffort,
        JsonNode prediction,
        JsonNode audio,
        @JsonProperty("web_search_options") JsonNode webSearchOptions,
        JsonNode verbosity,
        @JsonProperty("prompt_cache_key") JsonNode promptCacheKey,
        @JsonProperty("safety_identifier") JsonNode safetyIdentifier) implements OpenAiRequest {

    /** Fields OpenAI defines, accepted only at a value that asks for nothing. */
    private static final List<NoOp<ChatCompletionRequest>> NO_OPS = List.of(
            new NoOp<>("response_format", ChatCompletionRequest::responseFormat,
                    v -> v.isObject() && v.size() == 1 && "text".equals(v.path("type").asString(""))),
            new NoOp<>("tool_choice", ChatCompletionRequest::toolChoice, NoOp.oneOf("none")),
            new NoOp<>("parallel_tool_calls", ChatCompletionRequest::parallelToolCalls, NoOp.ONLY_NULL),
            new NoOp<>("store", ChatCompletionRequest::store, NoOp.FALSE),
            new NoOp<>("metadata", ChatCompletionRequest::metadata, OpenAiRequest::metadataWithinBounds),
            new NoOp<>("logit_bias", ChatCompletionRequest::logitBias, OpenAiRequest::empty),
            new NoOp<>("top_logprobs", ChatCompletionRequest::topLogprobs, NoOp.ONLY_NULL),
            new NoOp<>("modalities", ChatCompletionRequest::modalities,
                    v -> v.isArray() && v.size() == 1 && "text".equals(v.get(0).asString(""))),
            new NoOp<>("service_tier", ChatCompletionRequest::serviceTier, NoOp.oneOf("auto", "default")),
            new NoOp<>("reasoning_effort", ChatCompletionRequest::reasoningEffort, NoOp.ONLY_NULL),
            new NoOp<>("prediction", ChatCompletionRequest::prediction, NoOp.ONLY_NULL),
            new NoOp<>("audio", ChatCompletionRequest::audio, NoOp.ONLY_NULL),
            new NoOp<>("web_search_options", ChatCompletionRequest::webSearchOptions, NoOp.ONLY_NULL),
            new NoOp<>("verbosity", ChatCompletionRequest::verbosity, NoOp.oneOf("medium")), // the default
            // a cache hint and an end-user id change no answer: any string
            new NoOp<>("prompt_cache_key", ChatCompletionRequest::promptCacheKey, JsonNode::isString),
            new NoOp<>("safety_identifier", ChatCompletionRequest::safetyIdentifier, JsonNode::isString));

    /** The engine's roles and OpenAI's "developer", which is read as "system". */
    private static final Set<String> ROLES = Stream.concat(ChatMessage.ROLES.stream(), Stream.of("developer")).collect(Collectors.toUnmodifiableSet());

    /**
     * One message; {@code content} is a string or an array of {@code {"type":"text","text":…}} parts. The
     * other fields of an assistant message as this service (or OpenAI) returns it are accepted empty, so
     * that a client can send an answer back as it came, and so is a participant's {@code name}; with a
     * value they are refused (not supported: a chat template has no place for a name).
     */
    public record Message(String role, JsonNode content, JsonNode refusal, @JsonProperty("tool_calls") JsonNode toolCalls,
                          @JsonProperty("function_call") JsonNode functionCall, JsonNode audio, JsonNode annotations, JsonNode name) {
    }

    @Override
    public void check(String servedModel) {
        // tools first: clients send tool_choice beside them, and tools are what is not supported
        if (tools != null && !tools.isEmpty()) {
            throw new BadParameterException("tools", BadParameterException.UNSUPPORTED_PARAMETER, "tools are not supported by this service");
        }
        OpenAiRequest.refuseUnlessNoOp(this, NO_OPS);
        OpenAiRequest.super.check(servedModel);
        if (maxCompletionTokens != null && maxCompletionTokens < 1) {
            throw new BadParameterException("max_completion_tokens", "max_completion_tokens must be at least 1, got " + maxCompletionTokens);
        }
        // max_completion_tokens is OpenAI's newer name for max_tokens: one of them, or both alike, never one silently
        if (maxCompletionTokens != null && maxTokens != null && !maxCompletionTokens.equals(maxTokens)) {
            throw new BadParameterException("max_completion_tokens",
                    "max_tokens (" + maxTokens + ") and max_completion_tokens (" + maxCompletionTokens + ") disagree; send one of them");
        }
        if (Boolean.TRUE.equals(logprobs)) {
            throw new BadParameterException("logprobs", BadParameterException.UNSUPPORTED_PARAMETER,
                    "logprobs are not supported by this service");
        }
    }

    /** The token limit as the client named it: {@code max_completion_tokens}, OpenAI's newer name, when it sent that. */
    @Override
    public BadParameterException inOwnWords(BadParameterException e) {
        if (!"max_tokens".equals(e.param()) || maxCompletionTokens == null || maxTokens != null) {
            return e;
        }
        String message = e.getMessage() == null ? null : e.getMessage().replace("max_tokens", "max_completion_tokens");
        return new BadParameterException("max_completion_tokens", e.code(), message);
    }

    GenerationCommand toCommand(String callerKey) {
        if (messages == null || messages.isEmpty()) {
            throw new BadParameterException("messages", "messages must be a non-empty array");
        }
        List<ChatMessage> chat = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            chat.add(toChatMessage(messages.get(i), "messages[" + i + "]"));
        }
        return command(null, chat, maxCompletionTokens != null ? maxCompletionTokens : maxTokens, callerKey);
    }

    private static ChatMessage toChatMessage(Message m, String param) {
        if (m == null || m.role() == null || !ROLES.contains(m.role())) {
            throw new BadParameterException(param + ".role", "message role must be one of " + ROLES + ", got " + (m == null ? null : m.role()));
        }
        // chat templates know "system"; OpenAI's newer "developer" role means the same
        String role = m.role().equals("developer") ? "system" : m.role();
        String[] names = {"refusal", "tool_calls", "function_call", "audio", "annotations", "name"};
        JsonNode[] values = {m.refusal(), m.toolCalls(), m.functionCall(), m.audio(), m.annotations(), m.name()};
        for (int i = 0; i < names.length; i++) {
            if (!OpenAiRequest.empty(values[i])) {
                throw new BadParameterException(param + "." + names[i], BadParameterException.UNSUPPORTED_PARAMETER,
                        "a message's " + names[i] + " is not supported by this service (leave it out, null or empty)");
            }
        }
        return new ChatMessage(role, text(m.content(), param + ".content"));
    }

    private static String text(JsonNode content, String param) {
        if (content != null && content.isString()) {
            return content.stringValue();
        }
        if (content != null && content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : content) {
                if (!"text".equals(part.path("type").asString("")) || !part.path("text").isString() || part.size() != 2) {
                    throw new BadParameterException(param, "only text content parts ({\"type\":\"text\",\"text\":…}, nothing else) are supported");
                }
                GenerationService.requireWellFormed(part.get("text").stringValue(), param); // halves of a character in two parts are two mistakes
                text.append(part.get("text").stringValue());
            }
            return text.toString();
        }
        throw new BadParameterException(param, "message content must be a string or an array of text parts");
    }
}
