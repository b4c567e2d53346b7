package dev.moeadapter.it;

import dev.moeadapter.core.engine.Model;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a client sends is taken as written or refused, never bent: no coercion, no silently ignored
 * field, OpenAI's ranges and error fields, every refusal and unknown URL in the documented JSON shape;
 * and what is accepted means what it says (seeds, message text, feedback scores).
 */
@ExtendWith(OutputCaptureExtension.class)
class StrictRequestsTest extends RunningService {
    private static final String CHAT = "/v1/chat/completions";
    private static final String TEXT = "/v1/completions";
    private static final String NATIVE = "/v1/moe/generate";

    @Autowired
    Model model;

    private static String chat(String extra) {
        return "{\"model\":\"" + MODEL_ID + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + extra + "}";
    }

    private static String text(String extra) {
        return "{\"model\":\"" + MODEL_ID + "\",\"prompt\":\"hi\"" + extra + "}";
    }

    @Test
    void unsupportedFieldsAndValuesAreRefusedNamingTheField() throws Exception {
        record Case(String path, String body, String param, String code) {
        }
        List<Case> cases = List.of(
                new Case(CHAT, chat(",\"logprobs\":true"), "logprobs", "unsupported_parameter"),
                new Case(CHAT, chat(",\"top_logprobs\":2"), "top_logprobs", "unsupported_parameter"),
                new Case(CHAT, chat(",\"logit_bias\":{\"50256\":-100}"), "logit_bias", "unsupported_parameter"),
                new Case(CHAT, chat(",\"response_format\":{\"type\":\"json_object\"}"), "response_format", "unsupported_parameter"),
                new Case(CHAT, chat(",\"functions\":[{\"name\":\"f\"}]"), "functions", "unsupported_parameter"),
                new Case(CHAT, chat(",\"tool_choice\":\"auto\""), "tool_choice", "unsupported_parameter"),
                new Case(TEXT, text(",\"echo\":true"), "echo", "unsupported_parameter"),
                new Case(TEXT, text(",\"best_of\":2"), "best_of", "unsupported_parameter"),
                new Case(TEXT, text(",\"suffix\":\"end\""), "suffix", "unsupported_parameter"),
                new Case(TEXT, text(",\"logprobs\":2"), "logprobs", "unsupported_parameter"),
                new Case(NATIVE, "{\"prompt\":\"a\",\"max_token\":4}", "max_token", "unsupported_parameter"),
                new Case(CHAT, chat(",\"temperature\":5"), "temperature", "invalid_value"),
                new Case(CHAT, chat(",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]"), "stop", "invalid_value"),
                new Case(TEXT, text(",\"max_tokens\":1.5"), "max_tokens", "invalid_value"),
                new Case(NATIVE, "{\"prompt\":\"a\",\"max_tokens\":1.5}", "max_tokens", "invalid_value"),
                new Case(CHAT, chat(",\"stream\":\"true\""), "stream", "invalid_value"),
                new Case(NATIVE, "{\"prompt\":\"a\",\"stream\":\"true\"}", "stream", "invalid_value"),
                new Case(NATIVE, "{\"prompt\":\"a\",\"seed\":\"7\"}", "seed", "invalid_value"),
                new Case(NATIVE, "{\"prompt\":\"\"}", "prompt", "invalid_value"),
                new Case(NATIVE, "{\"prompt\":\"  \\n \"}", "prompt", "invalid_value"),
                new Case(TEXT, text("").replace("\"hi\"", "\" \""), "prompt", "invalid_value"),
                new Case(CHAT, chat("").replace("\"hi\"", "\"\""), "messages", "invalid_value"),
                new Case(CHAT, chat("").replace("\"user\"", "\"wizard\""), "messages[0].role", "invalid_value"),
                new Case(NATIVE, "{\"prompt\":\"a\",", null, "invalid_json"),
                new Case(NATIVE, "{\"prompt\":NaN}", null, "invalid_json"),
                new Case(NATIVE, "{\"prompt\":5}", "prompt", "invalid_value"),
                new Case(NATIVE, "{\"prompt\":true}", "prompt", "invalid_value"),
                new Case(TEXT, text("").replace("\"hi\"", "1.5"), "prompt", "invalid_value"),
                new Case(CHAT, chat(",\"stop\":5"), "stop", "invalid_value"),
                new Case(CHAT, chat("").replace("\"hi\"", "[{\"type\":\"text\",\"text\":\"x\",\"extra\":1}]"), "messages[0].content", "invalid_value"),
                new Case(TEXT, text(",\"stop\":[true]"), "stop[0]", "invalid_value"),
                new Case(TEXT, text(",\"presence_penalty\":1"), "presence_penalty", "unsupported_parameter"),
                new Case(CHAT, chat("").replace("\"content\":\"hi\"}", "\"content\":\"hi\",\"tool_calls\":[{\"id\":\"c\"}]}"),
                        "messages[0].tool_calls", "unsupported_parameter"),
                new Case(CHAT, chat(",\"store\":true"), "store", "unsupported_parameter"),
                new Case(CHAT, chat(",\"parallel_tool_calls\":true"), "parallel_tool_calls", "unsupported_parameter"),
                new Case(CHAT, chat(",\"metadata\":{\"k\":[\"v\"]}"), "metadata", "unsupported_parameter"),
                new Case(CHAT, chat(",\"modalities\":[\"text\",\"audio\"]"), "modalities", "unsupported_parameter"),
                new Case(CHAT, chat(",\"response_format\":{\"type\":\"text\",\"x\":1}"), "response_format", "unsupported_parameter"),
                new Case(CHAT, chat(",\"max_token\":2"), "max_token", "unsupported_parameter"),
                new Case(CHAT, chat(",\"others\":{}"), "others", "unsupported_parameter"),
                new Case(CHAT, chat(",\"service_tier\":\"flex\""), "service_tier", "unsupported_parameter"),
                new Case(CHAT, chat("").replace("\"content\":\"hi\"}", "\"content\":\"hi\",\"name\":\"bob\"}"), "messages[0].name", "unsupported_parameter"));
        for (Case c : cases) {
            HttpResponse<String> r = post(c.path(), c.body());
            assertThat(r.statusCode()).as(c.body()).isEqualTo(400);
            JsonNode error = json(r.body()).get("error");
            assertThat(error.get("type").asString()).as(c.body()).isEqualTo("invalid_request_error");
            assertThat(error.get("param").isNull() ? null : error.get("param").asString()).as(c.body()).isEqualTo(c.param());
            assertThat(error.get("code").asString()).as(c.body()).isEqualTo(c.code());
        }
        // "user" only labels the end user: accepted; an absent temperature is OpenAI's default 1, so sampling varies
        assertThat(post(CHAT, chat(",\"user\":\"u-1\",\"max_tokens\":2")).statusCode()).isEqualTo(200);
        // fields at a value that asks for nothing, as clients send them, are accepted
        HttpResponse<String> noOps = post(CHAT, chat(",\"max_tokens\":2,\"response_format\":{\"type\":\"text\"},\"tool_choice\":\"none\","
                + "\"parallel_tool_calls\":null,\"store\":false,\"metadata\":{},\"logit_bias\":null,\"top_logprobs\":null,\"modalities\":[\"text\"],\"service_tier\":\"auto\","
                + "\"reasoning_effort\":null,\"prediction\":null,\"audio\":null,\"web_search_options\":null,\"verbosity\":null,"
                + "\"prompt_cache_key\":\"k-1\",\"safety_identifier\":\"u-1\"")
                .replace("\"content\":\"hi\"}", "\"content\":\"hi\",\"name\":null}"));
        assertThat(noOps.statusCode()).as(noOps.body()).isEqualTo(200);
        HttpResponse<String> textNoOps = post(TEXT, text(",\"max_tokens\":2,\"echo\":false,\"best_of\":1,\"logprobs\":null,\"suffix\":null,\"logit_bias\":{}"));
        assertThat(textNoOps.statusCode()).as(textNoOps.body()).isEqualTo(200);
        // an answer's message sent back as it came, with its empty fields, continues the chat
        var answer = (tools.jackson.databind.node.ObjectNode) json(post(CHAT, chat(",\"max_tokens\":2")).body()).at("/choices/0/message");
        assertThat(answer.has("refusal")).isTrue();
        answer.putArray("tool_calls");
        answer.putArray("annotations");
        answer.putNull("function_call");
        answer.putNull("audio");
        String echoed = "{\"model\":\"" + MODEL_ID + "\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                + answer + ",{\"role\":\"user\",\"content\":\"and?\"}]}";
        HttpResponse<String> next = post(CHAT, echoed);
        assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
    }

    @Test
    void streamedChunksCarryUsageNullWhenUsageIsAskedFor() throws Exception {
        HttpResponse<String> r = post(CHAT, chat(",\"max_tokens\":4,\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        List<JsonNode> chunks = new ArrayList<>();
        for (String line : r.body().split("\n")) {
            if (line.startsWith("data: {")) {
                chunks.add(json(line.substring(6)));
            }
        }
        JsonNode last = chunks.getLast();
        assertThat(last.get("choices")).isEmpty();
        assertThat(last.get("usage").get("completion_tokens").asInt()).isPositive();
        for (JsonNode chunk : chunks.subList(0, chunks.size() - 1)) {
            assertThat(chunk.has("usage")).as(chunk.toString()).isTrue();
            assertThat(chunk.get("usage").isNull()).as(chunk.toString()).isTrue();
        }
        HttpResponse<String> plain = post(CHAT, chat(",\"max_tokens\":2,\"stream\":true"));
        assertThat(plain.body()).doesNotContain("\"usage\"");
    }

    @Test
    void unknownUrlsAndTheErrorPageAre404sInTheDocumentedShape() throws Exception {
        for (String path : List.of("/error", "/actuator/health/../env", "/actuator/env", "/actuator/health/nope", "/actuator/health/diskSpace",
                "/v1/nothing", "/nothing")) {
            HttpResponse<String> r = get(path);
            assertThat(r.statusCode()).as(path).isEqualTo(404);
            assertThat(r.headers().firstValue("Content-Type")).as(path).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
            assertThat(json(r.body()).at("/error/type").asString()).as(path).isEqualTo("invalid_request_error");
        }
        HttpResponse<String> method = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url("/v1/models")))
                .DELETE().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(method.statusCode()).isEqualTo(405);
        assertThat(json(method.body()).at("/error/type").asString()).isEqualTo("invalid_request_error");
        assertThat(json(method.body()).at("/error/code").asString()).isEqualTo("method_not_allowed");
        assertThat(method.headers().firstValue("Allow")).as("a 405 names the methods allowed (RFC 9110 §15.5.6)").hasValueSatisfying(allow -> assertThat(allow).contains("GET").doesNotContain("DELETE"));
    }

    /**
     * Requests Tomcat refuses before any servlet sees them (a bad URL encoding, a control character in a
     * header, a malformed Content-Length, an unsupported transfer encoding) get the documented JSON
     * error, not Tomcat's HTML page.
     */
    @Test
    void malformedHttpIsAnsweredInTheDocumentedShape(CapturedOutput output) throws Exception {
        List<String> requests = List.of(
                "GET /v1/moe/gen%zzerate HTTP/1.1\r\nHost: localhost\r\n\r\n",
                "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: \u0001json\r\nContent-Length: 2\r\n\r\n{}",
                "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}",
                "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                // a multipart body Spring cannot parse, on an endpoint and on an unknown URL: 415, not a 500 with a stack trace
                "POST /v1/moe/generate HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: multipart/form-data\r\nContent-Length: 1\r\n\r\nx",
                "POST /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: MULTIPART/FORM-DATA; boundary=b\r\nContent-Length: 9\r\n\r\n--b\r\nxx\r\n",
                "GET /v1/moe/info HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: multipart/mixed\r\n\r\n",
                "GET /v1/moe/info HTTP/1.1\r\nHost: localhost\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n",
                "GET /v1/moe/info HTTP/1.1\r\nConnection: close\r\n\r\n",
                "GET /v1/moe/info HTTP/1.1\r\nHost: localhost\r\nHost: example.com\r\n\r\n",
                "POST /v1/moe/generate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
                "POST /v1/moe/generate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: -2\r\n\r\n{}");
        for (String request : requests) {
            try (java.net.Socket socket = new java.net.Socket("localhost", port)) {
                socket.setSoTimeout(10_000);
                socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
                socket.getOutputStream().flush();
                String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                String head = answer.substring(0, Math.max(0, answer.indexOf("\r\n\r\n"))), body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
                assertThat(head).as(request).matches("(?s)HTTP/1.1 (4|5)\\d\\d .*").containsIgnoringCase("Content-Type: application/json");
                JsonNode error = json(body.substring(body.indexOf('{'), body.lastIndexOf('}') + 1)).get("error");
                assertThat(error.get("type").asString()).as(body).isIn("invalid_request_error", "server_error");
                assertThat(error.get("code").asString()).as(body).isNotBlank();
                assertThat(error.get("message").asString()).as(body).isNotBlank();
                if (request.toLowerCase(java.util.Locale.ROOT).contains("multipart")) {
                    assertThat(head).as(request).startsWith("HTTP/1.1 415");
                }
                if (request.contains("X-Big")) {
                    assertThat(error.get("message").asString()).as(body).containsIgnoringCase("header is too large");
                }
                if (head.startsWith("HTTP/1.1 400")) {
                    assertThat(error.get("message").asString()).as("%s says which rule it broke", request).startsWith("Bad Request: ");
                }
            }
        }
        assertThat(output.getAll()).as("no request above is logged as a failure").doesNotContain("request failed");
    }

    /** A query parameter that is not percent-encoded UTF-8 is the client's mistake, not a server error. */
    @Test
    void aBadlyEncodedQueryParameterIsA400() throws Exception {
        for (String query : List.of("policy=%zz", "policy=%ED%A0%80", "policy=%ff", "policy=default&x=%zz")) {
            try (java.net.Socket socket = new java.net.Socket("localhost", port)) { // java.net.URI refuses such a query
                socket.setSoTimeout(10_000);
                socket.getOutputStream().write(("GET /v1/moe/assignment?" + query + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
                String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(answer).as(query).startsWith("HTTP/1.1 400 ");
                String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
                assertThat(json(body.substring(body.indexOf('{'), body.lastIndexOf('}') + 1)).at("/error/code").asString()).as(query)
                        .isEqualTo("invalid_request");
            }
        }
    }

    @Test
    void seedsUseAllTheirBits() throws Exception {
        String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":24,\"temperature\":1.5,\"seed\":%d}";
        String one = json(post(NATIVE, body.formatted(1L)).body()).get("text").asString();
        assertThat(json(post(NATIVE, body.formatted(1L)).body()).get("text").asString()).isEqualTo(one);
        assertThat(json(post(NATIVE, body.formatted(1L + (1L << 32))).body()).get("text").asString())
                .as("a seed equal to 1 modulo 2^32 is another seed").isNotEqualTo(one);
        String minusOne = json(post(NATIVE, body.formatted(-1L)).body()).get("text").asString();
        assertThat(json(post(NATIVE, body.formatted(-1L)).body()).get("text").asString()).as("-1 is a seed, not 'random'")
                .isEqualTo(minusOne);
    }

    /** A prompt whose bytes rule out fitting the context (a token stands for a bounded number of them) is refused untokenised. */
    @Test
    void aPromptManyContextsLongIsRefusedWithoutTokenisingIt() throws Exception {
        HttpResponse<String> r = post(NATIVE, "{\"prompt\":\"" + "ab".repeat(7_000) + "\",\"max_tokens\":2}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r.body()).at("/error/code").asString()).isEqualTo("context_length_exceeded");
        assertThat(json(r.body()).at("/error/message").asString()).startsWith("the prompt has at least ");
        HttpResponse<String> chat = post(CHAT, chat(",\"max_tokens\":2").replace("\"hi\"", "\"" + "ab".repeat(7_000) + "\""));
        assertThat(json(chat.body()).at("/error/message").asString()).startsWith("the prompt has at least ");
    }

    /** A JSON escape of half a character is not text: refused, not read as '?'. */
    @Test
    void anUnpairedSurrogateIsRefusedNamingTheField() throws Exception {
        record Case(String path, String body, String param) {
        }
        for (Case c : List.of(
                new Case(NATIVE, "{\"prompt\":\"REV:\\ud800\",\"max_tokens\":2}", "prompt"),
                new Case(NATIVE, "{\"prompt\":\"REV:\\udfff\\ud800\",\"max_tokens\":2}", "prompt"),
                new Case(NATIVE, "{\"prompt\":\"REV:abc\",\"stop\":[\"\\udfff\"],\"max_tokens\":2}", "stop"),
                new Case(CHAT, chat(",\"max_tokens\":2").replace("\"hi\"", "\"hi \\ud83d\""), "messages[0].content"))) {
            HttpResponse<String> r = post(c.path(), c.body());
            assertThat(r.statusCode()).as(c.body()).isEqualTo(400);
            assertThat(json(r.body()).at("/error/param").asString()).as(r.body()).isEqualTo(c.param());
            assertThat(json(r.body()).at("/error/message").asString()).contains("unpaired UTF-16 surrogate");
        }
        HttpResponse<String> pair = post(NATIVE, "{\"prompt\":\"REV:\\ud83d\\ude00\",\"max_tokens\":2}");
        assertThat(pair.statusCode()).as("a pair is a character").isEqualTo(200);
    }

    @Test
    void requestsWithoutASeedSampleDifferently() throws Exception {
        String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":24,\"temperature\":1.5}";
        java.util.Set<String> answers = new java.util.HashSet<>();
        for (int i = 0; i < 4; i++) {
            answers.add(json(post(NATIVE, body).body()).get("text").asString());
            answers.add(chatText(",\"max_tokens\":24"));
        }
        assertThat(answers).as("8 unseeded answers at a temperature, 4 native and 4 chat").hasSizeGreaterThan(2);
    }

    @Test
    void anAbsentTemperatureOnTheOpenAiEndpointsIsOpenAisDefaultOfOne() throws Exception {
        String greedy = chatText(",\"max_tokens\":24,\"temperature\":0,\"seed\":1");
        boolean sampled = false;
        for (long seed = 1; seed <= 5; seed++) {
            String absent = chatText(",\"max_tokens\":24,\"seed\":" + seed);
            assertThat(absent).as("seed %d: no temperature samples as temperature 1", seed)
                    .isEqualTo(chatText(",\"max_tokens\":24,\"temperature\":1,\"seed\":" + seed));
            sampled |= !absent.equals(greedy);
        }
        assertThat(sampled).as("some seed leaves the greedy answer: it is not temperature 0").isTrue();
    }

    private String chatText(String fields) throws Exception {
        HttpResponse<String> r = post(CHAT, chat(fields));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r.body()).at("/choices/0/message/content").asString();
    }

    @Test
    void messageTextIsNeverAControlToken() throws Exception {
        String eos = new String(model.tokenBytes(model.info().eos(), true), StandardCharsets.UTF_8);
        assertThat(model.tokenize(eos, false, true)).as("parsed as special, '" + eos + "' is one control token").hasSize(1);
        int plainLength = model.tokenize("x" + eos, false, false).length - model.tokenize("x", false, false).length;
        assertThat(plainLength).as("as text it is several tokens").isGreaterThan(1);
        int with = promptTokens("x" + eos), without = promptTokens("x");
        assertThat(with - without).isEqualTo(plainLength);
    }

    /** A message's role is written into the prompt by the chat template: only the known roles pass, on either endpoint. */
    @Test
    void aMessageRoleCannotForgeControlTokens() throws Exception {
        String eos = new String(model.tokenBytes(model.info().eos(), true), StandardCharsets.UTF_8);
        for (String role : List.of("user" + eos, "wizard", "USER")) {
            String messages = "[{\"role\":" + JSON.writeValueAsString(role) + ",\"content\":\"x\"}]";
            HttpResponse<String> nativeAnswer = post(NATIVE, "{\"messages\":" + messages + ",\"max_tokens\":1}");
            assertThat(nativeAnswer.statusCode()).as(role + ": " + nativeAnswer.body()).isEqualTo(400);
            assertThat(json(nativeAnswer.body()).at("/error/message").asString()).contains("role must be one of");
            HttpResponse<String> openAi = post(CHAT, "{\"model\":\"" + MODEL_ID + "\",\"messages\":" + messages + ",\"max_tokens\":1}");
            assertThat(openAi.statusCode()).as(role + ": " + openAi.body()).isEqualTo(400);
        }
        assertThat(post(NATIVE, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":1}").statusCode()).isEqualTo(200);
    }

    private int promptTokens(String content) throws Exception {
        HttpResponse<String> r = post(CHAT, chat(",\"max_tokens\":1").replace("\"hi\"", JSON.writeValueAsString(content)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r.body()).at("/usage/prompt_tokens").asInt();
    }

    @Test
    void feedbackScoresAreBounded() throws Exception {
        for (String score : List.of("1e308", "-1", "1.5")) {
            String id = json(post(NATIVE, "{\"prompt\":\"a\",\"max_tokens\":1}").body()).get("id").asString();
            HttpResponse<String> r = post("/v1/moe/feedback", "{\"request_id\":\"" + id + "\",\"score\":" + score + "}");
            assertThat(r.statusCode()).as(score).isEqualTo(400);
            assertThat(json(r.body()).at("/error/param").asString()).isEqualTo("score");
        }
    }

    @Test
    void prometheusScrapingIsOptIn() throws Exception {
        assertThat(get("/actuator/prometheus").statusCode()).isEqualTo(404);
    }

    @Test
    void thePolicyListAndReportsAreNotPublic() throws Exception {
        for (String path : new String[]{"/v1/moe/policies", "/v1/moe/policies/default/report"}) {
            HttpResponse<String> r = get(path);
            assertThat(r.statusCode()).as(path).isEqualTo(403);
            assertThat(json(r.body()).at("/error/message").asString()).contains("moe.adapter.security.public-policies");
        }
    }
}
