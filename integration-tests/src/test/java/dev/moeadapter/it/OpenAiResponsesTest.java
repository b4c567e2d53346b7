package dev.moeadapter.it;

import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.responses.EasyInputMessage;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseOutputMessage;
import com.openai.models.responses.ResponseStatus;
import com.openai.models.responses.ResponseStreamEvent;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code /v1/responses} through OpenAI's official Java client, unchanged, which checks every response
 * and event against OpenAI's schema, and the same answers as the chat endpoint gives them.
 */
class OpenAiResponsesTest extends OfficialOpenAiClient {

    private ResponseCreateParams.Builder params() {
        return ResponseCreateParams.builder().model(MODEL_ID).instructions("You are terse.").input("Name a colour.")
                .maxOutputTokens(12).temperature(0.0);
    }

    private static String text(Response r) {
        StringBuilder b = new StringBuilder();
        r.output().forEach(item -> item.message().ifPresent(m -> m.content().forEach(c -> c.outputText().ifPresent(t -> b.append(t.text())))));
        return b.toString();
    }

    @Test
    void aResponseIsTheChatAnswerToTheSameMessages() throws Exception {
        Response r = client.responses().create(params().build());
        assertThat(r.model().asString()).isEqualTo(MODEL_ID);
        assertThat(r.output()).hasSize(1);
        ResponseOutputMessage message = r.output().getFirst().asMessage();
        assertThat(message.content()).hasSize(1);
        long output = r.usage().orElseThrow().outputTokens();
        assertThat(output).isBetween(1L, 12L);
        assertThat(r.status()).hasValue(output == 12 ? ResponseStatus.INCOMPLETE : ResponseStatus.COMPLETED);
        if (output == 12) {
            assertThat(r.incompleteDetails().orElseThrow().reason()).hasValueSatisfying(v -> assertThat(v.asString()).isEqualTo("max_output_tokens"));
        }
        HttpResponse<String> chat = post("/v1/chat/completions", "{\"model\":\"" + MODEL_ID + "\",\"messages\":[{\"role\":\"system\","
                + "\"content\":\"You are terse.\"},{\"role\":\"user\",\"content\":\"Name a colour.\"}],\"max_tokens\":12,\"temperature\":0}");
        JsonNode c = json(chat.body());
        assertThat(text(r)).isEqualTo(c.at("/choices/0/message/content").asString());
        assertThat(r.usage().orElseThrow().inputTokens()).isEqualTo(c.at("/usage/prompt_tokens").asLong());
    }

    @Test
    void theStreamsEventsComeInOpenAisOrderAndAddUpToTheWholeResponse() {
        String whole = text(client.responses().create(params().build()));
        List<ResponseStreamEvent> events = new ArrayList<>();
        try (StreamResponse<ResponseStreamEvent> stream = client.responses().createStreaming(params().build())) {
            stream.stream().forEach(events::add);
        }
        List<JsonNode> raw = events.stream().map(OpenAiResponsesTest::raw).toList();
        List<String> types = raw.stream().map(e -> e.get("type").asString()).toList();
        assertThat(types.subList(0, 4)).containsExactly("response.created", "response.in_progress", "response.output_item.added",
                "response.content_part.added");
        assertThat(types.subList(types.size() - 4, types.size())).containsExactly("response.output_text.done", "response.content_part.done",
                "response.output_item.done", whole.isEmpty() ? "response.completed" : types.getLast());
        assertThat(types.getLast()).isIn("response.completed", "response.incomplete");
        assertThat(types.subList(4, types.size() - 4)).containsOnly("response.output_text.delta").isNotEmpty();
        StringBuilder deltas = new StringBuilder();
        events.forEach(e -> e.outputTextDelta().ifPresent(d -> deltas.append(d.delta())));
        assertThat(deltas.toString()).isEqualTo(whole);
        assertThat(events.get(types.size() - 4).asOutputTextDone().text()).isEqualTo(whole);
        Response last = events.getLast().isCompleted() ? events.getLast().asCompleted().response() : events.getLast().asIncomplete().response();
        assertThat(text(last)).isEqualTo(whole);
        assertThat(events.getFirst().asCreated().response().id()).isEqualTo(last.id());
        for (int i = 0; i < events.size(); i++) {
            assertThat(raw.get(i).get("sequence_number").asInt()).isEqualTo(i);
        }
    }

    /** The event as the client read it, written back to JSON by the client's own mapper. */
    private static JsonNode raw(ResponseStreamEvent e) {
        try {
            return json(com.openai.core.ObjectMappers.jsonMapper().writeValueAsString(e));
        } catch (com.fasterxml.jackson.core.JsonProcessingException x) {
            throw new IllegalStateException(x);
        }
    }

    @Test
    void aConversationComesBackAsInputItemsWithTheEarlierAnswer() {
        Response first = client.responses().create(params().build());
        List<ResponseInputItem> items = List.of(
                ResponseInputItem.ofEasyInputMessage(EasyInputMessage.builder().role(EasyInputMessage.Role.USER).content("Name a colour.").build()),
                ResponseInputItem.ofResponseOutputMessage(first.output().getFirst().asMessage()),
                ResponseInputItem.ofEasyInputMessage(EasyInputMessage.builder().role(EasyInputMessage.Role.USER).content("Another.").build()));
        Response second = client.responses().create(params().inputOfResponse(items).build());
        assertThat(second.usage().orElseThrow().inputTokens()).isGreaterThan(first.usage().orElseThrow().inputTokens());
    }

    @Test
    void whatTheServiceCannotDoIsABadRequestNamingTheField() throws Exception {
        assertThatThrownBy(() -> client.responses().create(params().previousResponseId("resp_1").build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).hasValue("previous_response_id"));
        assertThatThrownBy(() -> client.responses().create(params().store(true).build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).hasValue("store"));
        assertThatThrownBy(() -> client.responses().create(params().model("gpt-4o").build()))
                .isInstanceOfSatisfying(NotFoundException.class, e -> assertThat(e.code()).hasValue("model_not_found"));
        assertThatThrownBy(() -> client.responses().create(params().putAdditionalBodyProperty("arm", JsonValue.from("magic")).build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.getMessage()).contains("no arm 'magic'"));
        String base = "{\"model\":\"" + MODEL_ID + "\",";
        record Case(String body, String param) {
        }
        for (Case c : List.of(
                new Case(base + "\"input\":[]}", "input"),
                new Case(base + "\"input\":7}", "input"),
                new Case(base + "\"input\":\"hi\",\"max_output_tokens\":0}", "max_output_tokens"),
                new Case(base + "\"input\":\"hi\",\"tools\":[{\"type\":\"web_search\"}],\"tool_choice\":\"auto\"}", "tools"),
                new Case(base + "\"input\":\"hi\",\"text\":{\"format\":{\"type\":\"json_object\"}}}", "text"),
                new Case(base + "\"input\":\"hi\",\"reasoning\":{\"effort\":\"high\"}}", "reasoning"),
                new Case(base + "\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"x\"}]}", "input[0].type"),
                new Case(base + "\"input\":[{\"role\":\"robot\",\"content\":\"x\"}]}", "input[0].role"),
                new Case(base + "\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_image\",\"image_url\":\"x\"}]}]}", "input[0].content[0]"),
                new Case(base + "\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"output_text\",\"text\":\"x\"}]}]}", "input[0].content[0]"),
                // the service's own checks, named in this request's words
                new Case(base + "\"input\":\"hi\",\"max_output_tokens\":100000}", "max_output_tokens"),
                new Case(base + "\"input\":\"   \"}", "input"),
                new Case(base + "\"instructions\":\"\\ud800\",\"input\":\"hi\"}", "instructions"),
                new Case(base + "\"instructions\":\"be terse\",\"input\":[{\"role\":\"user\",\"content\":\"a\"},"
                        + "{\"role\":\"user\",\"content\":\"\\udfff\"}]}", "input[1].content"),
                new Case(base + "\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"\\ud83d\"},"
                        + "{\"type\":\"input_text\",\"text\":\"\\ude00\"}]}]}", "input[0].content[0].text"),
                // nonsense is not read as a default
                new Case(base + "\"input\":[{\"type\":{},\"role\":\"user\",\"content\":\"x\"}]}", "input[0].type"),
                new Case(base + "\"input\":[{\"role\":\"user\",\"content\":\"x\",\"status\":42}]}", "input[0].status"),
                new Case(base + "\"input\":\"hi\",\"tools\":{}}", "tools"),
                new Case(base + "\"input\":\"hi\",\"top_logprobs\":4294967296}", "top_logprobs"),
                new Case(base + "\"input\":\"hi\",\"user\":\"" + "u".repeat(513) + "\"}", "user"),
                new Case(base + "\"input\":\"hi\",\"prompt_cache_retention\":\"forever\"}", "prompt_cache_retention"))) {
            HttpResponse<String> r = post("/v1/responses", c.body());
            assertThat(r.statusCode()).as(c.body()).isEqualTo(400);
            assertThat(json(r.body()).at("/error/param").asString()).as(r.body()).isEqualTo(c.param());
            assertThat(json(r.body()).at("/error/type").asString()).isEqualTo("invalid_request_error");
        }
        HttpResponse<String> ok = post("/v1/responses", base + "\"input\":\"hi\",\"max_output_tokens\":2,\"store\":false,"
                + "\"text\":{\"format\":{\"type\":\"text\"}},\"tool_choice\":null,\"tools\":[],\"metadata\":{\"team\":\"\\ud83d\\ude00\"},"
                + "\"truncation\":\"disabled\",\"stream_options\":{\"include_obfuscation\":false},\"prompt_cache_retention\":\"24h\"}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        JsonNode r = json(ok.body());
        assertThat(r.get("object").asString()).isEqualTo("response");
        assertThat(r.get("tool_choice").asString()).isEqualTo("auto");
        assertThat(r.at("/metadata/team").asString()).as("metadata comes back as sent").isEqualTo("\ud83d\ude00");
    }
}
