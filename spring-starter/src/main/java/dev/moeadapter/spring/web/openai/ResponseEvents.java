package dev.moeadapter.spring.web.openai;

import dev.moeadapter.serving.generation.GenerationOutcome;
import dev.moeadapter.spring.web.EventStream;
import dev.moeadapter.spring.web.RoutingTrace;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The server-sent events of a streamed {@code /v1/responses} answer, in OpenAI's order: the response
 * created and in progress, the message and its text part added, the text's deltas, the text, part and
 * message done, and the response completed (or incomplete). Each event is named by its {@code type}
 * and numbered ({@code sequence_number}); the stream ends without {@code [DONE]}, as OpenAI's does.
 */
final class ResponseEvents {
    private final EventStream events;
    private final ResponseObject.Draft draft;
    private final StringBuilder text = new StringBuilder();
    private int sequence;
    private boolean opened;

    ResponseEvents(EventStream events, ResponseObject.Draft draft) {
        this.events = events;
        this.draft = draft;
    }

    /** The opening events, once, before the first text (a refusal until then keeps its own status). */
    void open() {
        if (opened) {
            return;
        }
        opened = true;
        send("response.created", Map.of("response", draft.inProgress()));
        send("response.in_progress", Map.of("response", draft.inProgress()));
        send("response.output_item.added", Map.of("output_index", 0, "item", draft.message(null, "in_progress")));
        send("response.content_part.added", part(Map.of("part", new ResponseObject.OutputText(""))));
    }

    /** A piece of text, with the routing rows that produced it (our extension, left out when null). */
    void delta(String piece, RoutingTrace routing) {
        open();
        text.append(piece);
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("delta", piece);
        fields.put("logprobs", List.of());
        if (routing != null) {
            fields.put("routing_trace", routing);
        }
        send("response.output_text.delta", part(fields));
    }

    /** The closing events: the text, its part and the message done, then the whole response. */
    void finish(GenerationOutcome o, RoutingTrace routing) {
        open();
        ResponseObject done = draft.done(o, routing);
        String status = done.status();
        send("response.output_text.done", part(Map.of("text", text.toString(), "logprobs", List.of())));
        send("response.content_part.done", part(Map.of("part", new ResponseObject.OutputText(text.toString()))));
        send("response.output_item.done", Map.of("output_index", 0, "item", draft.message(text.toString(), status)));
        send(status.equals("completed") ? "response.completed" : "response.incomplete", Map.of("response", done));
    }

    /** A failure after the stream began: OpenAI's {@code error} event. */
    void error(String message) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("code", "server_error");
        fields.put("message", message);
        fields.put("param", null);
        send("error", fields);
    }

    private Map<String, Object> part(Map<String, Object> fields) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("item_id", draft.messageId());
        m.put("output_index", 0);
        m.put("content_index", 0);
        m.putAll(fields);
        return m;
    }

    private void send(String type, Map<String, Object> fields) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("type", type);
        event.put("sequence_number", sequence++);
        event.putAll(fields);
        events.send(type, event);
    }
}
