package dev.moeadapter.it;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.JsonNode;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A page of a listed origin calls the API from a real browser (headless chromium) with its API key:
 * the browser's preflight, which carries no key, is answered; the answer and its refusals reach the
 * page with the headers it may read. A page of an origin not listed cannot read the API. The page is
 * the service's own inspector, loaded as {@code localhost} and calling {@code 127.0.0.1}: two origins.
 */
@TestPropertySource(properties = {"moe.adapter.security.api-keys=" + BrowserOriginsTest.KEY,
        "moe.adapter.security.cors-origins=http://localhost:[*]"})
class BrowserOriginsTest extends RunningService {
    static final String KEY = "it-browser-key-5e31";
    private static final Duration WAIT = Duration.ofSeconds(60);

    /** Loads a page of {@code origin} and waits until scripts run in it. */
    private static void open(HeadlessChromium browser, String origin) throws Exception {
        browser.send("Page.navigate", Map.of("url", origin + "/inspector/index.html"), WAIT);
        JsonNode loaded = browser.evaluate("new Promise(ok => document.readyState === 'complete' ? ok(location.origin)"
                + " : addEventListener('load', () => ok(location.origin)))", WAIT);
        assertThat(loaded.asString()).isEqualTo(origin);
    }

    /** Runs in the page: a POST of {@code body} to {@code url}, and what the page can read of its answer. */
    private static String call(String url, String key, String body) {
        return "fetch('" + url + "', {method: 'POST', headers: {" + (key == null ? "" : "'Authorization': 'Bearer " + key + "', ")
                + "'Content-Type': 'application/json'}, body: " + JSON.writeValueAsString(body) + "})"
                + ".then(async r => ({status: r.status, requestId: r.headers.get('x-request-id'), body: await r.text()}))"
                + ".catch(e => ({failed: String(e)}))";
    }

    @Test
    void aListedOriginsPageCallsTheApiWithItsKeyAndReadsRefusalsToo() throws Exception {
        String chat = "{\"model\":\"" + MODEL_ID + "\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        try (HeadlessChromium browser = HeadlessChromium.start()) {
            open(browser, "http://localhost:" + port);
            String api = "http://127.0.0.1:" + port + "/v1/chat/completions";
            JsonNode answered = browser.evaluate(call(api, KEY, chat), WAIT);
            assertThat(answered.path("status").asInt()).as(answered.toString()).isEqualTo(200);
            assertThat(JSON.readTree(answered.get("body").asString()).at("/choices/0/message/role").asString()).isEqualTo("assistant");
            assertThat(answered.get("requestId").asString()).as("an exposed header").isNotBlank();
            JsonNode refused = browser.evaluate(call(api, null, chat), WAIT);
            assertThat(refused.path("status").asInt()).as("the page reads the refusal: %s", refused).isEqualTo(401);
            assertThat(JSON.readTree(refused.get("body").asString()).at("/error/code").asString()).isEqualTo("invalid_api_key");
        }
    }

    @Test
    void anOriginNotListedCannotReadTheApiAndItsPreflightIsRefusedInTheErrorShape() throws Exception {
        try (HeadlessChromium browser = HeadlessChromium.start()) {
            open(browser, "http://127.0.0.1:" + port);
            JsonNode blocked = browser.evaluate(call("http://localhost:" + port + "/v1/moe/generate", KEY, "{\"prompt\":\"hi\",\"max_tokens\":2}"), WAIT);
            assertThat(blocked.has("failed")).as("the browser keeps the answer from the page: %s", blocked).isTrue();
        }
        HttpResponse<String> preflight = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/moe/generate"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).header("Origin", "http://127.0.0.1:" + port)
                .header("Access-Control-Request-Method", "POST").header("Access-Control-Request-Headers", "authorization,content-type").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(preflight.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(preflight.body()).at("/error/code").asString()).as(preflight.body()).isEqualTo("origin_not_allowed");
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
    }
}
