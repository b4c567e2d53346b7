package dev.moeadapter.spring.web.openai;

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

/**
 * Body of {@code POST /v1/responses} (OpenAI's Responses API), text in and text out: {@code input} is
 * a string (one user message) or an array of messages, {@code instructions} a system message put
 * first. The service keeps no responses, so nothing can refer to an earlier one
 * ({@code previous_response_id}, {@code conversation}) and {@code store} may only be false; tools,
 * reasoning and other output formats are refused like the chat endpoint's.
 */
public record ResponseRequest(
        String model,
        JsonNode input,
        String instructions,
        @JsonProperty("max_output_tokens") Integer maxOutputTokens,
        Double temperature,
        @JsonProperty("top_p") Double topP,
        Boolean stream,
        String policy,
        String arm,
        Map<String, Object> settings,
        @JsonProperty("routing_trace") RoutingTraceOption routingTrace,
        String user,
        @JsonProperty("stream_options") JsonNode responseStreamOptions,
        JsonNode store,
        JsonNode metadata,
        @JsonProperty("previous_response_id") JsonNode previousResponseId,
        JsonNode conversation,
        JsonNode tools,
        @JsonProperty("tool_choice") JsonNode toolChoice,
        @JsonProperty("parallel_tool_calls") JsonNode parallelToolCalls,
        @JsonProperty("max_tool_calls") JsonNode maxToolCalls,
        JsonNode text,
        JsonNode reasoning,
        JsonNode include,
        JsonNode truncation,
        JsonNode background,
        JsonNode prompt,
        @JsonProperty("top_logprobs") JsonNode topLogprobs,
        @JsonProperty("service_tier") JsonNode serviceTier,
        @JsonProperty("prompt_cache_key") JsonNode promptCacheKey,
        @JsonProperty("safety_identifier") JsonNode safetyIdentifier,
        @JsonProperty("prompt_cache_retention") JsonNode promptCacheRetention) implements OpenAiRequest {

    /** Fields OpenAI defines, accepted only at a value that asks for nothing. */
    private static final List<NoOp<ResponseRequest>> NO_OPS = List.of(
            new NoOp<>("previous_response_id", ResponseRequest::previousResponseId, NoOp.ONLY_NULL),
            new NoOp<>("conversation", ResponseRequest::conversation, NoOp.ONLY_NULL),
            new NoOp<>("tool_choice", ResponseRequest::toolChoice, NoOp.oneOf("none", "auto")),
            new NoOp<>("parallel_tool_calls", ResponseRequest::parallelToolCalls, JsonNode::isBoolean),
            new NoOp<>("max_tool_calls", ResponseRequest::maxToolCalls, NoOp.ONLY_NULL),
            new NoOp<>("store", ResponseRequest::store, NoOp.FALSE),
            new NoOp<>("metadata", ResponseRequest::metadata, OpenAiRequest::metadataWithinBounds),
            new NoOp<>("text", ResponseRequest::text, ResponseRequest::plainText),
            new NoOp<>("reasoning", ResponseRequest::reasoning, OpenAiRequest::empty),
            new NoOp<>("include", ResponseRequest::include, OpenAiRequest::empty),
            new NoOp<>("truncation", ResponseRequest::truncation, NoOp.oneOf("disabled")),
            new NoOp<>("background", ResponseRequest::background, NoOp.FALSE),
            new NoOp<>("prompt", ResponseRequest::prompt, NoOp.ONLY_NULL),
            new NoOp<>("top_logprobs", ResponseRequest::topLogprobs, v -> v.isIntegralNumber() && v.canConvertToInt() && v.asInt() == 0),
            new NoOp<>("service_tier", ResponseRequest::serviceTier, NoOp.oneOf("auto", "default")),
            new NoOp<>("stream_options", ResponseRequest::responseStreamOptions,
                    v -> OpenAiRequest.empty(v) || v.isObject() && v.size() == 1 && v.path("include_obfuscation").isBoolean()
                            && !v.get("include_obfuscation").booleanValue()),
            // a cache hint and an end-user id change no answer: any string
            new NoOp<>("prompt_cache_key", ResponseRequest::promptCacheKey, JsonNode::isString),
            new NoOp<>("safety_identifier", ResponseRequest::safetyIdentifier, JsonNode::isString),
            new NoOp<>("prompt_cache_retention", ResponseRequest::promptCacheRetention, NoOp.oneOf("in-memory", "24h")));

    private static final Set<String> ROLES = Set.of("user", "assistant", "system", "developer");
    /** An input message's fields: an earlier output item comes back with its id and status. */
    private static final Set<String> MESSAGE_FIELDS = Set.of("type", "role", "content", "id", "status");
    /** The longest end-user label accepted (it is echoed in every snapshot of the response). */
    static final int MAX_USER = 512;

    /** {@code text} as clients send it by default: plain text output, nothing else asked. */
    private static boolean plainText(JsonNode v) {
        if (!v.isObject()) {
            return false;
        }
        for (var field : v.properties()) {
            boolean plain = switch (field.getKey()) {
                case "format" -> field.getValue().isObject() && field.getValue().size() == 1
                        && "text".equals(field.getValue().path("type").asString(""));
                case "verbosity" -> field.getValue().isNull() || "medium".equals(field.getValue().asString(""));
                default -> false;
            };
            if (!plain) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void check(String servedModel) {
        // tools first: clients send tool_choice beside them, and tools are what is not supported
        if (tools != null && !tools.isNull() && !tools.isArray()) {
            throw new BadParameterException("tools", "tools must be an array");
        }
        if (!OpenAiRequest.empty(tools)) {
            throw new BadParameterException("tools", BadParameterException.UNSUPPORTED_PARAMETER, "tools are not supported by this service");
        }
        if (user != null && user.length() > MAX_USER) {
            throw new BadParameterException("user", "user must be at most " + MAX_USER + " characters, got " + user.length());
        }
        OpenAiRequest.refuseUnlessNoOp(this, NO_OPS);
        OpenAiRequest.super.check(servedModel);
        if (maxOutputTokens != null && maxOutputTokens < 1) {
            throw new BadParameterException("max_output_tokens", "max_output_tokens must be at least 1, got " + maxOutputTokens);
        }
    }

    GenerationCommand toCommand(String callerKey) {
        List<ChatMessage> chat = new ArrayList<>();
        if (instructions != null) {
            chat.add(new ChatMessage("system", instructions));
        }
        if (input == null || input.isNull()) {
            throw new BadParameterException("input", "input must be a string or a non-empty array of messages");
        }
        if (input.isString()) {
            chat.add(new ChatMessage("user", input.stringValue()));
        } else if (input.isArray() && !input.isEmpty()) {
            for (int i = 0; i < input.size(); i++) {
                chat.add(message(input.get(i), "input[" + i + "]"));
            }
        } else {
            throw new BadParameterException("input", "input must be a string or a non-empty array of messages");
        }
        return command(null, chat, maxOutputTokens, callerKey);
    }

    /**
     * One input item: a message, {@code {"role", "content"}} with an optional {@code "type": "message"}
     * (and {@code id} and {@code status}, as an earlier output item carries them), whose content is a
     * string or an array of text parts. Other items (function calls, their outputs, reasoning) are refused.
     */
    private static ChatMessage message(JsonNode item, String param) {
        if (item == null || !item.isObject()) {
            throw new BadParameterException(param, "an input item must be a message object");
        }
        JsonNode typeNode = item.get("type");
        if (typeNode != null && !typeNode.isString()) {
            throw new BadParameterException(param + ".type", "an input item's type must be a string");
        }
        String type = typeNode == null ? "message" : typeNode.stringValue();
        if (!type.equals("message")) {
            throw new BadParameterException(param + ".type", BadParameterException.UNSUPPORTED_PARAMETER,
                    "input items of type '" + type + "' are not supported by this service (only messages)");
        }
        for (var field : item.properties()) {
            if (!MESSAGE_FIELDS.contains(field.getKey())) {
                throw new BadParameterException(param + "." + field.getKey(), BadParameterException.UNSUPPORTED_PARAMETER,
                        "an input message's '" + field.getKey() + "' is not supported by this service");
            }
        }
        JsonNode roleNode = item.get("role");
        String role = roleNode != null && roleNode.isString() ? roleNode.stringValue() : null;
        if (role == null || !ROLES.contains(role)) {
            throw new BadParameterException(param + ".role", "message role must be one of " + ROLES + ", got " + roleNode);
        }
        for (String echo : new String[] {"id", "status"}) { // as an earlier output item carries them: strings
            JsonNode v = item.get(echo);
            if (v != null && !v.isNull() && !v.isString()) {
                throw new BadParameterException(param + "." + echo, "an input message's " + echo + " must be a string");
            }
        }
        JsonNode content = item.get("content");
        String text;
        if (content != null && content.isString()) {
            text = content.stringValue();
        } else if (content != null && content.isArray()) {
            // an assistant's earlier answer comes back as output_text parts, the rest as input_text
            StringBuilder b = new StringBuilder();
            for (int j = 0; j < content.size(); j++) {
                b.append(textPart(content.get(j), role, param + ".content[" + j + "]"));
            }
            text = b.toString();
        } else {
            throw new BadParameterException(param + ".content", "message content must be a string or an array of text parts");
        }
        // chat templates know "system"; OpenAI's newer "developer" role means the same
        return new ChatMessage(role.equals("developer") ? "system" : role, text);
    }

    private static String textPart(JsonNode part, String role, String param) {
        String type = part.path("type").asString("");
        String expected = role.equals("assistant") ? "output_text" : "input_text";
        if (!type.equals(expected) || !part.path("text").isString()) {
            throw new BadParameterException(param, "only text content parts ({\"type\":\"" + expected + "\",\"text\":…}) are supported in a "
                    + role + " message, got type '" + type + "'");
        }
        for (var field : part.properties()) {
            boolean known = switch (field.getKey()) {
                case "type", "text" -> true;
                case "annotations", "logprobs" -> OpenAiRequest.empty(field.getValue()); // as an output part comes back
                default -> false;
            };
            if (!known) {
                throw new BadParameterException(param + "." + field.getKey(), BadParameterException.UNSUPPORTED_PARAMETER,
                        "a content part's '" + field.getKey() + "' is not supported by this service");
            }
        }
        String text = part.get("text").stringValue();
        GenerationService.requireWellFormed(text, param + ".text"); // two halves of a character in two parts are two mistakes
        return text;
    }

    /**
     * A refusal of the service, which speaks of a chat's fields, in this request's: {@code max_tokens}
     * is {@code max_output_tokens}, {@code messages} is {@code input}, and a message's index counts the
     * instructions' system message first.
     */
    @Override
    public BadParameterException inOwnWords(BadParameterException e) {
        String param = e.param();
        String own;
        if ("max_tokens".equals(param)) {
            own = "max_output_tokens";
        } else if ("messages".equals(param)) {
            own = "input";
        } else if (param != null && param.startsWith("messages[")) {
            int close = param.indexOf(']');
            int index = Integer.parseInt(param.substring("messages[".length(), close)) - (instructions != null ? 1 : 0);
            own = index < 0 ? "instructions" : input.isString() ? "input" : "input[" + index + "]" + param.substring(close + 1);
        } else {
            return e;
        }
        String message = e.getMessage() == null ? null : e.getMessage().replace(param, own).replace("max_tokens", "max_output_tokens");
        return new BadParameterException(own, e.code(), message);
    }

    // what the Responses API has no field for: one choice, no seed, no stop sequences, no penalties

    @Override
    public Integer n() {
        return null;
    }

    @Override
    public Long seed() {
        return null;
    }

    @Override
    public List<String> stop() {
        return null;
    }

    @Override
    public StreamOptions streamOptions() {
        return null;
    }

    @Override
    public Double presencePenalty() {
        return null;
    }

    @Override
    public Double frequencyPenalty() {
        return null;
    }
}
