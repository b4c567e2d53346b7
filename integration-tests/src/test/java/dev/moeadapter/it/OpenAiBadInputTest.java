package dev.moeadapter.it;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a client can get wrong on the OpenAI-compatible endpoints: each is a 4xx with OpenAI's JSON
 * error body, nothing reaches the engine unchecked, and the service keeps answering.
 */
class OpenAiBadInputTest extends RunningService {
    private static final String CHAT = "/v1/chat/completions";
    private static final String TEXT = "/v1/completions";

    record Case(String path, String body, int status, String message) {
    }

    private static String chat(String extra) {
        return "{\"model\":\"" + MODEL_ID + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + extra + "}";
    }

    private static String text(String extra) {
        return "{\"model\":\"" + MODEL_ID + "\",\"prompt\":\"hi\"" + extra + "}";
    }

    @Test
    void everyMistakeIsA4xxWithAnOpenAiErrorAndTheServiceKeepsServing() throws Exception {
        String longPrompt = "word ".repeat(300); // over the 256-token context, under the 16 KB body limit
        List<Case> cases = List.of(
                new Case(CHAT, "{not json", 400, "malformed request body"),
                new Case(CHAT, "{\"model\":\"" + MODEL_ID + "\",\"messages\":\"hi\"}", 400, "malformed request body"),
                new Case(TEXT, text(",\"max_tokens\":\"many\""), 400, "malformed request body"),
                new Case(TEXT, text(",\"max_tokens\":1e30"), 400, "malformed request body"),
                new Case(TEXT, text(",\"temperature\":[1]"), 400, "malformed request body"),
                new Case(CHAT, "{\"model\":\"" + MODEL_ID + "\",\"messages\":[]}", 400, "messages must be a non-empty array"),
                new Case(CHAT, "{\"model\":\"" + MODEL_ID + "\"}", 400, "messages must be a non-empty array"),
                new Case(TEXT, "{\"model\":\"" + MODEL_ID + "\"}", 400, "prompt is required"),
                new Case(TEXT, text("").replace("\"hi\"", "null"), 400, "prompt is required"),
                new Case(TEXT, text("") + " {}", 400, "content after the JSON object"),
                new Case(TEXT, text("").replace("\"hi\"", "[\"a\",\"b\"]"), 400, "prompt must be one string"),
                new Case(CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, "you must provide a model"),
                new Case(CHAT, chat("").replace(MODEL_ID, "gpt-4o"), 404, "does not exist"),
                new Case(TEXT, text("").replace(MODEL_ID, "../../etc/passwd"), 404, "does not exist"),
                new Case(TEXT, text("").replace(MODEL_ID, MODEL.toString()), 404, "does not exist"),
                new Case(CHAT, chat("").replace("\"user\"", "\"wizard\""), 400, "message role must be one of"),
                new Case(CHAT, chat("").replace("\"hi\"", "null"), 400, "content must be a string or an array of text parts"),
                new Case(CHAT, chat("").replace("\"hi\"", "[{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]"), 400,
                        "only text content parts"),
                new Case(CHAT, chat("").replace("\"hi\"", "\"" + longPrompt + "\""), 400, "the context holds"),
                new Case(TEXT, text("").replace("\"hi\"", "\"" + longPrompt + "\""), 400, "the context holds"),
                new Case(TEXT, text(",\"max_tokens\":-1"), 400, "max_tokens must be in 1..64"),
                new Case(TEXT, text(",\"max_tokens\":0"), 400, "max_tokens must be in 1..64"),
                new Case(CHAT, chat(",\"max_completion_tokens\":100000"), 400, "max_completion_tokens must be in 1..64"),
                new Case(CHAT, chat(",\"max_completion_tokens\":0"), 400, "max_completion_tokens must be at least 1"),
                new Case(CHAT, chat(",\"max_tokens\":5000,\"max_completion_tokens\":3"), 400, "disagree"),
                new Case(CHAT, chat(",\"max_tokens\":8,\"max_completion_tokens\":-5"), 400, "max_completion_tokens must be at least 1"),
                new Case(CHAT, chat(",\"max_completion_tokens\":5000"), 400, "max_completion_tokens must be in 1..64"),
                new Case(CHAT, chat(",\"max_tokens\":2147483647,\"stream\":true"), 400, "max_tokens must be in 1..64"),
                new Case(CHAT, chat(",\"arm\":\"magic\""), 400, "policy 'default' has no arm 'magic'"),
                new Case(TEXT, text(",\"arm\":\"magic\",\"stream\":true"), 400, "policy 'default' has no arm 'magic'"),
                new Case(CHAT, chat(",\"policy\":\"magic\""), 403, "policy 'magic' cannot be named by a request"),
                new Case(CHAT, chat(",\"settings\":{\"beta\":\"x\"}"), 400, "adaptation 'none' takes no settings"),
                new Case(TEXT, text(",\"arm\":\"scmoe\",\"settings\":{\"beta\":null}"), 400, "beta"),
                new Case(CHAT, chat(",\"temperature\":-1"), 400, "temperature must be in [0, 2]"),
                new Case(TEXT, text(",\"top_p\":0"), 400, "top_p must be in (0, 1]"),
                new Case(CHAT, chat(",\"n\":3"), 400, "n must be 1"),
                new Case(CHAT, chat(",\"presence_penalty\":0.5"), 400, "not supported"),
                new Case(CHAT, chat(",\"tools\":[{\"type\":\"function\"}]"), 400, "tools are not supported"),
                new Case(CHAT, chat(",\"user\":{\"id\":7}"), 400, "at 'user'"),
                new Case(TEXT, text(",\"user\":42"), 400, "at 'user'"),
                // a token-array prompt names the JSON kind expected, not a Java type
                new Case(TEXT, text("").replace("\"hi\"", "[1,2,3]"), 400, "at 'prompt[0]': expected a string"),
                // clients send tool_choice beside tools: the refusal names tools
                new Case(CHAT, chat(",\"tools\":[{\"type\":\"function\"}],\"tool_choice\":\"auto\""), 400, "tools are not supported"),
                new Case(CHAT, chat(",\"reasoning_effort\":\"high\""), 400, "unsupported parameter 'reasoning_effort'"),
                new Case(CHAT, chat(",\"stream_options\":{\"include_usage\":true}"), 400, "only allowed when stream is true"),
                new Case(TEXT, text(",\"stop\":\"\""), 400, "stop strings must not be empty"),
                new Case(CHAT, chat(",\"stop\":[\"a\",null]"), 400, "stop strings must not be null"),
                new Case(CHAT, "{\"model\":\"" + MODEL_ID + "\",\"messages\":[null]}", 400, "message role must be one of"),
                new Case(TEXT, text(",\"stop\":" + "[\"a\"".repeat(1) + ",\"b\"".repeat(16) + "]"), 400, "at most 4 stop sequences"),
                new Case(TEXT, text("").replace("\"hi\"", "\"" + "x".repeat(17_000) + "\""), 413, "exceeds the limit"));
        for (Case c : cases) {
            HttpResponse<String> r = post(c.path(), c.body());
            assertThat(r.statusCode()).as(c.body()).isEqualTo(c.status());
            assertThat(r.headers().firstValue("Content-Type")).as(c.body()).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
            JsonNode error = json(r.body()).get("error");
            assertThat(error.get("message").asString()).as(c.body()).contains(c.message());
            assertThat(error.get("type").asString()).as(c.body()).isNotBlank();
        }
        assertServing();
    }

    @Test
    void aBodyWithoutContentLengthIsHeldToTheSameLimit() throws Exception {
        HttpResponse<String> big = postChunked(text("").replace("\"hi\"", "\"" + "x".repeat(40_000) + "\""));
        assertThat(big.statusCode()).isEqualTo(413);
        assertThat(json(big.body()).at("/error/code").asString()).isEqualTo("request_too_large");
        assertThat(big.headers().firstValue("x-request-id")).as("refused by a filter, named all the same").isPresent();
        HttpResponse<String> small = postChunked(text(",\"max_tokens\":4"));
        assertThat(small.statusCode()).as(small.body()).isEqualTo(200);
        assertThat(json(small.body()).get("object").asString()).isEqualTo("text_completion");
        assertServing();
    }

    @Test
    void anErrorQuotesAtMostAThousandCharactersOfWhatTheClientSent() throws Exception {
        String name = "x".repeat(5_000);
        HttpResponse<String> r = post(CHAT, chat(",\"" + name + "\":1"));
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = json(r.body()).get("error");
        assertThat(error.get("message").asString()).startsWith("unsupported parameter 'xxx").matches("(?s).*… \\(\\d+ characters\\)").hasSizeLessThan(1100);
        assertThat(error.get("param").asString()).endsWith("(5000 characters)").hasSizeLessThan(250);
    }

    @Test
    void aGzipBodyIsDecodedAndItsDecodedSizeHeldToTheLimitOtherCodingsAre415() throws Exception {
        HttpResponse<String> small = postCoded("gzip", gzip(chat(",\"max_tokens\":4")));
        assertThat(small.statusCode()).as(small.body()).isEqualTo(200);
        assertThat(json(small.body()).at("/choices/0/message/role").asString()).isEqualTo("assistant");
        byte[] bomb = gzip(text("").replace("\"hi\"", "\"" + "x".repeat(1_000_000) + "\""));
        assertThat(bomb.length).isLessThan(16_000); // under the limit as sent, a thousandfold over it decoded
        HttpResponse<String> big = postCoded("gzip", bomb);
        assertThat(big.statusCode()).isEqualTo(413);
        assertThat(json(big.body()).at("/error/code").asString()).isEqualTo("request_too_large");
        assertThat(big.headers().firstValue("x-request-id")).as("refused by a filter, named all the same").isPresent();
        HttpResponse<String> notGzip = postCoded("gzip", chat("").getBytes(StandardCharsets.UTF_8));
        assertThat(notGzip.statusCode()).isEqualTo(400);
        assertThat(json(notGzip.body()).at("/error/message").asString()).contains("not valid gzip");
        assertThat(json(notGzip.body()).at("/error/code").asString()).as("as every body that cannot be read as JSON").isEqualTo("invalid_json");
        byte[] whole = gzip(chat(",\"max_tokens\":4"));
        byte[] junk = java.util.Arrays.copyOf(whole, whole.length + 3);
        HttpResponse<String> trailing = postCoded("gzip", junk);
        assertThat(trailing.statusCode()).as("bytes after the gzip data are not ignored").isEqualTo(400);
        assertThat(json(trailing.body()).at("/error/message").asString()).contains("3 bytes after the end of the gzip data");
        HttpResponse<String> cut = postCoded("gzip", java.util.Arrays.copyOf(whole, whole.length - 4));
        assertThat(cut.statusCode()).isEqualTo(400);
        assertThat(json(cut.body()).at("/error/message").asString()).contains("cut short");
        String body = chat(",\"max_tokens\":4");
        byte[] first = gzip(body.substring(0, 20)), second = gzip(body.substring(20));
        byte[] members = java.util.Arrays.copyOf(first, first.length + second.length);
        System.arraycopy(second, 0, members, first.length, second.length);
        HttpResponse<String> two = postCoded("gzip", members);
        assertThat(two.statusCode()).as("two gzip members are one body: " + two.body()).isEqualTo(200);
        HttpResponse<String> twice = postCoded("gzip, gzip", gzip(chat("")));
        assertThat(twice.statusCode()).as("a coding applied twice is not one this service decodes").isEqualTo(415);
        HttpResponse<String> brotli = postCoded("br", chat("").getBytes(StandardCharsets.UTF_8));
        assertThat(brotli.statusCode()).isEqualTo(415);
        assertThat(brotli.headers().firstValue("Accept-Encoding")).hasValue("gzip, identity");
        assertThat(json(brotli.body()).at("/error/code").asString()).isEqualTo("unsupported_media_type");
        assertServing();
    }

    /** What OpenAI accepts as asking for nothing here is accepted; the same fields asking for something are refused, named. */
    @Test
    void defaultsAndTagsAreAcceptedAndTheAnswerCarriesItsIdAsTheRequestIdHeader() throws Exception {
        StringBuilder tags = new StringBuilder("{");
        for (int i = 0; i < 16; i++) {
            tags.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"").append("v".repeat(512)).append('"');
        }
        tags.append('}');
        HttpResponse<String> ok = post(CHAT, chat(",\"max_tokens\":2,\"verbosity\":\"medium\",\"metadata\":" + tags));
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(ok.headers().firstValue("x-request-id")).hasValue(json(ok.body()).get("id").asString());
        HttpResponse<String> streamed = post(CHAT, chat(",\"max_tokens\":2,\"stream\":true,\"stream_options\":{\"include_obfuscation\":false}"));
        assertThat(streamed.statusCode()).as(streamed.body()).isEqualTo(200);
        record Refused(String extra, String param) {
        }
        for (Refused r : List.of(
                new Refused(",\"metadata\":" + tags.toString().replace("{", "{\"k16\":\"v\","), "metadata"),
                new Refused(",\"metadata\":{\"k\":1}", "metadata"),
                new Refused(",\"metadata\":{\"" + "k".repeat(65) + "\":\"v\"}", "metadata"),
                new Refused(",\"verbosity\":\"high\"", "verbosity"),
                new Refused(",\"max_completion_tokens\":5000", "max_completion_tokens"),
                new Refused(",\"stream\":true,\"stream_options\":{\"include_obfuscation\":true}", "stream_options.include_obfuscation"))) {
            HttpResponse<String> bad = post(CHAT, chat(r.extra()));
            assertThat(bad.statusCode()).as(r.extra()).isEqualTo(400);
            assertThat(json(bad.body()).at("/error/param").asString()).isEqualTo(r.param());
            assertThat(bad.headers().firstValue("x-request-id")).as("a refusal is named too").hasValueSatisfying(id -> assertThat(id).startsWith("req-"));
        }
    }

    /** A body in the charset its Content-Type declares is read in it: the same prompt as in UTF-8, token for token. */
    @Test
    void aDeclaredCharsetIsHonouredAnUnknownOneIs415() throws Exception {
        String body = text(",\"max_tokens\":1").replace("\"hi\"", "\"caf\u00e9 na\u00efve\"");
        int utf8 = promptTokens(postText("application/json", body.getBytes(StandardCharsets.UTF_8)));
        assertThat(promptTokens(postText("application/json; charset=ISO-8859-1", body.getBytes(StandardCharsets.ISO_8859_1))))
                .isEqualTo(utf8);
        assertThat(promptTokens(postText("application/json;charset=\"utf-16\"", body.getBytes(StandardCharsets.UTF_16))))
                .isEqualTo(utf8);
        HttpResponse<String> unknown = postText("application/json; charset=klingon", body.getBytes(StandardCharsets.UTF_8));
        assertThat(unknown.statusCode()).isEqualTo(415);
        assertThat(json(unknown.body()).at("/error/message").asString()).contains("charset 'klingon' is not supported");
        HttpResponse<String> notAscii = postText("application/json; charset=US-ASCII", body.getBytes(StandardCharsets.ISO_8859_1));
        assertThat(notAscii.statusCode()).isEqualTo(400);
        assertThat(json(notAscii.body()).at("/error/message").asString()).contains("not valid US-ASCII");
        // UTF-8, declared or not, is held to UTF-8: an overlong form of '/' (C0 AF) is not read as '/'
        byte[] overlong = text("").replace("\"hi\"", "\"REV:\u00ff\"").getBytes(StandardCharsets.ISO_8859_1);
        int at = new String(overlong, StandardCharsets.ISO_8859_1).indexOf('\u00ff');
        overlong = java.util.Arrays.copyOf(overlong, overlong.length + 1);
        System.arraycopy(overlong, at + 1, overlong, at + 2, overlong.length - at - 2);
        overlong[at] = (byte) 0xC0;
        overlong[at + 1] = (byte) 0xAF;
        for (String type : List.of("application/json", "application/json; charset=utf-8")) {
            HttpResponse<String> bad = postText(type, overlong);
            assertThat(bad.statusCode()).as(type).isEqualTo(400);
            assertThat(json(bad.body()).at("/error/message").asString()).contains("not valid UTF-8");
        }
        assertServing();
    }

    private HttpResponse<String> postText(String contentType, byte[] body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url(TEXT))).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private int promptTokens(HttpResponse<String> response) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return json(response.body()).at("/usage/prompt_tokens").asInt();
    }

    @Test
    void wrongMethodsMediaTypesAndUrlsAreJsonErrorsToo() throws Exception {
        assertThat(get(CHAT).statusCode()).isEqualTo(405);
        HttpResponse<String> form = http.send(HttpRequest.newBuilder(URI.create(url(CHAT))).header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString(chat(""))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(form.statusCode()).isEqualTo(415);
        assertThat(json(form.body()).at("/error/message").asString()).contains("application/json");
        HttpResponse<String> unknown = get("/v1/engines");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json(unknown.body()).at("/error/message").asString()).contains("unknown request URL");
        assertServing();
    }

    private HttpResponse<String> postChunked(String body) throws Exception {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return http.send(HttpRequest.newBuilder(URI.create(url(TEXT))).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(bytes))).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> postCoded(String coding, byte[] body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url(CHAT))).header("Content-Type", "application/json")
                .header("Content-Encoding", coding).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static byte[] gzip(String text) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(bytes)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return bytes.toByteArray();
    }

    private void assertServing() throws Exception {
        HttpResponse<String> ok = post(CHAT, chat(",\"max_tokens\":4"));
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(json(ok.body()).at("/choices/0/message/role").asString()).isEqualTo("assistant");
    }
}
