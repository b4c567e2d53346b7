package dev.moeadapter.spring.web.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.moeadapter.serving.generation.GenerationOutcome;
import dev.moeadapter.spring.web.RoutingTrace;

import java.util.List;
import java.util.Map;

/**
 * The answer of {@code POST /v1/responses} (object {@code response}), whole or as the snapshots its
 * stream's events carry: one assistant message holding one {@code output_text} part. An answer cut
 * by {@code max_output_tokens} or the context is {@code incomplete}, as OpenAI reports it.
 * {@code routing_trace} is our extension.
 */
@JsonPropertyOrder({"id", "object", "created_at", "status"})
@JsonInclude(JsonInclude.Include.ALWAYS)
record ResponseObject(String id, String object, @JsonProperty("created_at") long createdAt, String status,
                      Object error, @JsonProperty("incomplete_details") IncompleteDetails incompleteDetails,
                      String instructions, @JsonProperty("max_output_tokens") Integer maxOutputTokens,
                      @JsonProperty("max_tool_calls") Integer maxToolCalls, String model, List<OutputMessage> output,
                      @JsonProperty("parallel_tool_calls") boolean parallelToolCalls,
                      @JsonProperty("previous_response_id") String previousResponseId, Object reasoning, boolean store,
                      double temperature, @JsonProperty("top_p") double topP, Map<String, Object> text,
                      @JsonProperty("tool_choice") String toolChoice, List<Object> tools, String truncation,
                      Usage usage, String user, Object metadata, boolean background,
                      @JsonProperty("access_programs") Object accessPrograms,
                      @JsonProperty("routing_trace") @JsonInclude(JsonInclude.Include.NON_NULL) RoutingTrace routingTrace) {

    static final Map<String, Object> PLAIN_TEXT = Map.of("format", Map.of("type", "text"));

    record IncompleteDetails(String reason) {
    }

    /** The assistant's message; {@code id} is the response's with {@code msg-} in front. */
    record OutputMessage(String type, String id, String status, String role, List<OutputText> content) {
        OutputMessage(String id, String status, List<OutputText> content) {
            this("message", id, status, "assistant", content);
        }
    }

    record OutputText(String type, String text, List<Object> annotations, List<Object> logprobs) {
        OutputText(String text) {
            this("output_text", text, List.of(), List.of());
        }
    }

    record Usage(@JsonProperty("input_tokens") int inputTokens, @JsonProperty("input_tokens_details") Map<String, Integer> inputTokensDetails,
                 @JsonProperty("output_tokens") int outputTokens, @JsonProperty("output_tokens_details") Map<String, Integer> outputTokensDetails,
                 @JsonProperty("total_tokens") int totalTokens) {
        static Usage of(GenerationOutcome o) {
            return new Usage(o.promptTokens(), Map.of("cached_tokens", 0, "cache_write_tokens", 0), o.completionTokens(), Map.of("reasoning_tokens", 0),
                    o.promptTokens() + o.completionTokens());
        }
    }

    /** What every snapshot of one answer shares: its id, creation time, model and the request's settings as echoed. */
    record Draft(String id, long createdAt, String model, ResponseRequest request) {
        String messageId() {
            return "msg-" + id;
        }

        /** The snapshot before any text: in progress, no output yet. */
        ResponseObject inProgress() {
            return of("in_progress", null, List.of(), null, null);
        }

        /** The finished answer: completed, or incomplete when its length was cut. */
        ResponseObject done(GenerationOutcome o, RoutingTrace routing) {
            boolean cut = FinishReasons.of(o).equals("length");
            return of(cut ? "incomplete" : "completed", cut ? new IncompleteDetails("max_output_tokens") : null,
                    List.of(message(o.text(), cut ? "incomplete" : "completed")), Usage.of(o), routing);
        }

        OutputMessage message(String text, String status) {
            return new OutputMessage(messageId(), status, text == null ? List.of() : List.of(new OutputText(text)));
        }

        private ResponseObject of(String status, IncompleteDetails incomplete, List<OutputMessage> output, Usage usage, RoutingTrace routing) {
            return new ResponseObject(id, "response", createdAt, status, null, incomplete, request.instructions(), request.maxOutputTokens(),
                    null, model, output, request.parallelToolCalls() == null || !request.parallelToolCalls().isBoolean() || request.parallelToolCalls().booleanValue(), null, null, false,
                    request.temperature() == null ? OpenAiRequest.DEFAULT_TEMPERATURE : request.temperature(),
                    request.topP() == null ? 1 : request.topP(), PLAIN_TEXT,
                    request.toolChoice() == null || request.toolChoice().isNull() ? "auto" : request.toolChoice().asString(), List.of(),
                    "disabled", usage, request.user(), request.metadata() == null || request.metadata().isNull() ? Map.of() : request.metadata(),
                    false, null, routing);
        }
    }
}
