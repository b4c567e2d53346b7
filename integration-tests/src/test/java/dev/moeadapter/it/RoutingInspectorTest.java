package dev.moeadapter.it;

import dev.moeadapter.samples.service.MoeAdapterService;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The routing inspector page in a real headless chromium: two arms side by side on the embedded
 * lab model, every heatmap cell shown equal to the API's trace of the same request. The page is
 * kept as a screenshot, {@code target/routing-inspector.png}.
 */
@SpringBootTest(classes = MoeAdapterService.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "moe.adapter.threads=1", "moe.adapter.context-size=256", "moe.adapter.batch-size=64"})
class RoutingInspectorTest {
    private static final JsonMapper JSON = JsonMapper.shared();
    private static final String PROMPT = "REV:abc=cba,hgde=edgh,bfa=";
    private static final Duration WAIT = Duration.ofSeconds(60);

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry r) {
        r.add("moe.adapter.model", () -> RoutingTraceTest.LAB_MODEL.toString());
    }

    @LocalServerPort
    int port;

    @Test
    void cellsShownAreTheApisTraceForTwoArmsSideBySide() throws Exception {
        try (HeadlessChromium browser = HeadlessChromium.start()) {
            browser.send("Page.navigate", Map.of("url", "http://localhost:" + port + "/inspector/index.html"), WAIT);
            // the page is ready once it has read the arms from /v1/moe/info
            browser.evaluate("new Promise((ok, fail) => { const t0 = Date.now(); (function wait() {"
                    + " if (document.querySelector('#arm-b option[value=scmoe]')) ok(true);"
                    + " else if (Date.now() - t0 > 30000) fail(new Error('no arms: ' + document.body.innerText)); else setTimeout(wait, 50); })(); })", WAIT);
            JsonNode state = browser.evaluate("new Promise((ok) => {"
                    + " document.getElementById('prompt').value = " + JSON.writeValueAsString(PROMPT) + ";"
                    + " document.getElementById('max-tokens').value = '6';"
                    + " document.getElementById('arm-a').value = 'none'; document.getElementById('arm-b').value = 'scmoe';"
                    + " document.getElementById('run').click();"
                    + " (function wait() { const s = document.body.dataset.state;"
                    + " if (s === 'done' || s === 'error') ok(s + ' ' + document.getElementById('status').textContent); else setTimeout(wait, 50); })(); })",
                    WAIT);
            assertThat(state.asString()).isEqualTo("done ");
            JsonNode panels = browser.evaluate("Array.from(document.querySelectorAll('section.panel')).map(p => ({arm: p.dataset.arm,"
                    + " selected: Array.from(p.querySelectorAll('td.cell.selected')).map(c =>"
                    + "   [c.dataset.layer, c.dataset.token, c.dataset.expert, c.dataset.weight].join(' ')),"
                    + " absent: p.querySelectorAll('td.cell.absent').length, cells: p.querySelectorAll('td.cell').length}))", WAIT);
            Path shot = Path.of("target", "routing-inspector.png");
            Files.createDirectories(shot.getParent());
            Files.write(shot, browser.screenshot());
            assertThat(Files.readAllBytes(shot)).startsWith(0x89, 'P', 'N', 'G');

            assertThat(panels).hasSize(2);
            for (int i = 0; i < 2; i++) {
                JsonNode shown = panels.get(i);
                String arm = i == 0 ? "none" : "scmoe";
                assertThat(shown.get("arm").asString()).isEqualTo(arm);
                JsonNode answer = generate(arm);
                DecodedTrace trace = DecodedTrace.of(answer.get("routing_trace"));
                Set<String> expected = new TreeSet<>(), seen = new TreeSet<>();
                int absentRows = 0;
                for (int token = 0; token < trace.tokens(); token++) {
                    for (int slot = 0; slot < trace.layers().size(); slot++) {
                        int at = (token * trace.layers().size() + slot) * trace.topK();
                        absentRows += trace.experts()[at] < 0 ? 1 : 0;
                        for (int j = 0; j < trace.topK() && trace.experts()[at + j] >= 0; j++) {
                            expected.add(trace.layers().get(slot) + " " + token + " " + trace.experts()[at + j] + " "
                                    + (double) trace.weights()[at + j]);
                        }
                    }
                }
                // the page shows the float32 weight as a JavaScript number: the same double, printed its own way
                shown.get("selected").forEach(c -> {
                    String[] f = c.asString().split(" ");
                    seen.add(f[0] + " " + f[1] + " " + f[2] + " " + Double.parseDouble(f[3]));
                });
                assertThat(seen).as(arm).isEqualTo(expected);
                assertThat(seen).as(arm).hasSize(trace.tokens() * trace.layers().size() * trace.topK() - absentRows * trace.topK());
                int experts = 16;
                assertThat(shown.get("cells").asInt()).isEqualTo(trace.tokens() * trace.layers().size() * experts);
                // the last layer runs for output rows only: the prompt's rows but its last are shown as absent
                assertThat(absentRows).isEqualTo(answer.at("/usage/prompt_tokens").asInt() - 1);
                assertThat(shown.get("absent").asInt()).isEqualTo(absentRows * experts);
            }
        }
    }

    private JsonNode generate(String arm) throws Exception {
        String body = "{\"prompt\":" + JSON.writeValueAsString(PROMPT) + ",\"max_tokens\":6,\"arm\":\"" + arm + "\",\"routing_trace\":{}}";
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/moe/generate"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }
}
