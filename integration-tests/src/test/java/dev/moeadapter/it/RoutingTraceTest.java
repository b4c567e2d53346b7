package dev.moeadapter.it;

import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.samples.service.MoeAdapterService;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Routing in the response, on the version-1 lab model (4 MoE layers of 16 experts, top-4; the last
 * layer runs for output rows only): decoded from SGLang's encoding, shaped and padded as documented,
 * equal to the engine's own trace of the same request, streamed chunk by chunk to the same arrays,
 * bounded by the size limit and by the policy.
 */
@SpringBootTest(classes = MoeAdapterService.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "moe.adapter.threads=1", "moe.adapter.context-size=256", "moe.adapter.batch-size=64",
        "moe.adapter.limits.max-tokens=64", "moe.adapter.limits.max-routing-trace=10KB",
        "moe.adapter.default-policy=open", "moe.adapter.selectable-policies=blind,shown",
        "moe.adapter.policies.open.allow-override=true",
        "moe.adapter.policies.open.arms.plain.adaptation=none",
        "moe.adapter.policies.open.arms.contrast.adaptation=scmoe",
        "moe.adapter.policies.open.arms.contrast.weight=0",
        "moe.adapter.policies.open.arms.reroute.adaptation=rerouting",
        "moe.adapter.policies.open.arms.reroute.weight=0",
        "moe.adapter.policies.open.arms.reroute.settings.steps=2",
        "moe.adapter.policies.blind.arms.plain.adaptation=none",
        "moe.adapter.policies.shown.arms.plain.adaptation=none",
        "moe.adapter.policies.shown.arms.plain.routing-trace=experts"})
class RoutingTraceTest {
    private static final String PROMPT = "REV:abc=cba,hgde=edgh,bfa=";
    private static final int MAX_TOKENS = 8;
    private static final JsonMapper JSON = JsonMapper.shared();
    /** The version-1 OLMoE-style lab model (4 MoE layers of 16 experts, top-4), whose sizes the expected figures use. */
    static final Path LAB_MODEL = Path.of("../samples/lab/models/lab-olmoe.gguf").toAbsolutePath();

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry r) {
        r.add("moe.adapter.model", () -> LAB_MODEL.toString());
    }

    @LocalServerPort
    int port;

    @Autowired
    Model model;

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void expertsAreTheEnginesOwnShapedAndPadded() throws Exception {
        JsonNode r = ok("/v1/moe/generate", "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + MAX_TOKENS
                + ",\"routing_trace\":{\"probabilities\":[3]}}");
        ModelInfo info = model.info();
        int promptTokens = r.at("/usage/prompt_tokens").asInt(), completion = r.at("/usage/completion_tokens").asInt();
        JsonNode t = r.get("routing_trace");
        DecodedTrace trace = DecodedTrace.of(t);
        // one row per decoded token: the prompt, then every answer token but a last one that was never decoded
        int rows = promptTokens + completion - ("max_tokens".equals(r.get("finish_reason").asString()) ? 1 : 0);
        assertThat(trace.tokens()).isEqualTo(rows);
        assertThat(trace.firstToken()).isZero();
        assertThat(trace.layers()).isEqualTo(info.moeLayers());
        assertThat(trace.topK()).isEqualTo(info.expertsUsed());
        assertThat(trace.experts()).hasSize(rows * info.moeLayers().size() * info.expertsUsed());
        assertThat(trace.weights()).hasSize(trace.experts().length);

        // the engine, asked directly for the same greedy request, traces the same experts at every position
        RouterTrace engine;
        try (Session s = model.newSession(new SessionParams(256, 64, 1, 1, 1))) {
            s.setTrace(0, TraceSpec.ROUTES);
            GenerationResult g = new Generator(s, 0).generate(GenerationRequest.greedy(model.tokenize(PROMPT, true, false), MAX_TOKENS));
            assertThat(g.text()).isEqualTo(r.get("text").asString());
            engine = s.drainTrace();
        }
        int compared = 0;
        for (TokenRoute route : engine.routes()) {
            if (route.position() < rows) {
                assertThat(trace.experts(route.position(), info.moeLayers().indexOf(route.layer())))
                        .as("position %d layer %d", route.position(), route.layer()).containsExactly(route.experts());
                compared++;
            }
        }
        int present = 0;
        for (int i = 0; i < trace.experts().length; i++) {
            if (trace.experts()[i] < 0) {
                assertThat(trace.weights()[i]).isEqualTo(-1f);
            } else {
                assertThat(trace.weights()[i]).isBetween(0f, 1f);
                present++;
            }
        }
        assertThat(present).isEqualTo(compared * info.expertsUsed());

        // the last MoE layer runs for output rows only: the prompt's rows but its last are padding, and coverage says so
        int last = info.moeLayers().size() - 1;
        assertThat(info.routing(info.lastMoeLayer()).outputRowsOnly()).isTrue();
        JsonNode lastCoverage = t.get("coverage").get(last);
        assertThat(lastCoverage.get("output_rows_only").asBoolean()).isTrue();
        assertThat(lastCoverage.get("router").asBoolean()).isTrue();
        assertThat(lastCoverage.get("rows").toString()).isEqualTo("[[" + (promptTokens - 1) + "," + rows + "]]");
        assertThat(t.get("coverage").get(0).get("rows").toString()).isEqualTo("[[0," + rows + "]]");
        assertThat(trace.experts(0, last)).containsOnly(-1);
        assertThat(trace.experts(promptTokens - 1, last)).doesNotContain(-1);

        // router probabilities of layer 3: [tokens, experts], −1 where it did not route, else a distribution led by the first expert
        JsonNode p = t.get("probabilities").get(0);
        assertThat(p.get("layer").asInt()).isEqualTo(3);
        float[] probs = DecodedTrace.floats(p.get("data").asString());
        int e = info.experts();
        assertThat(probs).hasSize(rows * e);
        for (int row = 0; row < rows; row++) {
            double sum = 0;
            int best = 0;
            for (int j = 0; j < e; j++) {
                sum += probs[row * e + j];
                best = probs[row * e + j] > probs[row * e + best] ? j : best;
            }
            if (row < promptTokens - 1) {
                assertThat(sum).isEqualTo(-e, within(1e-6));
            } else {
                assertThat(sum).isEqualTo(1, within(1e-4));
                assertThat(best).isEqualTo(trace.experts(row, last)[0]);
            }
        }
    }

    @Test
    void streamedChunksAddUpToTheWholeTrace() throws Exception {
        String nativeBody = "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + MAX_TOKENS + ",\"routing_trace\":{}";
        DecodedTrace whole = DecodedTrace.of(ok("/v1/moe/generate", nativeBody + "}").get("routing_trace"));
        List<DecodedTrace> chunks = new ArrayList<>();
        for (String data : events("/v1/moe/generate", nativeBody + ",\"stream\":true}")) {
            JsonNode event = JSON.readTree(data);
            assertThat(event.has("response") && event.get("response").has("routing_trace")).isFalse();
            if (event.has("routing_trace")) {
                chunks.add(DecodedTrace.of(event.get("routing_trace")));
            }
        }
        assertThat(chunks.size()).isGreaterThan(1); // the prompt's rows with the first text, then a row per token
        assertSame(DecodedTrace.concat(chunks), whole);

        String chat = "{\"model\":\"" + model.path().getFileName().toString().replace(".gguf", "")
                + "\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":" + MAX_TOKENS
                + ",\"temperature\":0,\"routing_trace\":{}";
        DecodedTrace chatWhole = DecodedTrace.of(ok("/v1/chat/completions", chat + "}").get("routing_trace"));
        List<DecodedTrace> chatChunks = new ArrayList<>();
        for (String data : events("/v1/chat/completions", chat + ",\"stream\":true}")) {
            JsonNode chunk = JSON.readTree(data);
            assertThat(chunk.get("object").asString()).isEqualTo("chat.completion.chunk");
            if (chunk.has("routing_trace")) {
                chatChunks.add(DecodedTrace.of(chunk.get("routing_trace")));
            }
        }
        assertSame(DecodedTrace.concat(chatChunks), chatWhole);
    }

    @Test
    void offByDefaultAndTracedOnAdaptedArms() throws Exception {
        JsonNode plain = ok("/v1/moe/generate", "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":4}");
        assertThat(plain.has("routing_trace")).isFalse();
        JsonNode text = ok("/v1/completions", "{\"model\":\"" + model.path().getFileName().toString().replace(".gguf", "")
                + "\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":4,\"temperature\":0}");
        assertThat(text.has("routing_trace")).isFalse();

        for (String arm : List.of("contrast", "reroute")) {
            JsonNode r = ok("/v1/moe/generate", "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":4,\"arm\":\"" + arm
                    + "\",\"routing_trace\":{}}");
            assertThat(r.get("fallback").isNull()).as(arm).isTrue();
            DecodedTrace t = DecodedTrace.of(r.get("routing_trace"));
            int rows = r.at("/usage/prompt_tokens").asInt() + r.at("/usage/completion_tokens").asInt()
                    - ("max_tokens".equals(r.get("finish_reason").asString()) ? 1 : 0);
            assertThat(t.tokens()).as(arm).isEqualTo(rows);
            for (int row = 0; row < rows; row++) {
                assertThat(t.experts(row, 0)).as("%s row %d", arm, row).doesNotContain(-1);
            }
        }
    }

    @Test
    void sizeLimitAndPolicyBoundWhatAClientMayAskFor() throws Exception {
        String base = "{\"prompt\":\"" + PROMPT + "\"";
        // 27 prompt tokens + 64 = 91 rows × 4 layers × top-4 × 8 bytes = 11 648 bytes > 10 KB;
        // with every layer's probabilities (16 × 4 bytes each) 35 rows take 13 440 bytes
        refused("/v1/moe/generate", base + ",\"max_tokens\":64,\"routing_trace\":{}}", 400, "routing_trace", "invalid_value");
        refused("/v1/moe/generate", base + ",\"max_tokens\":8,\"routing_trace\":{\"probabilities\":[0,1,2,3]}}", 400,
                "routing_trace", "invalid_value");
        refused("/v1/moe/generate", base + ",\"routing_trace\":true}", 400, "routing_trace", "invalid_value");
        refused("/v1/moe/generate", base + ",\"routing_trace\":{\"layers\":[1]}}", 400, "routing_trace.layers", "unsupported_parameter");
        refused("/v1/moe/generate", base + ",\"routing_trace\":{\"probabilities\":[7]}}", 400, "routing_trace.probabilities", "invalid_value");
        refused("/v1/moe/generate", base + ",\"routing_trace\":{\"probabilities\":[3,3]}}", 400, "routing_trace.probabilities", "invalid_value");
        refused("/v1/moe/generate", base + ",\"routing_trace\":{\"probabilities\":[null]}}", 400, "routing_trace.probabilities", "invalid_value");
        refused("/v1/moe/generate", base + ",\"routing_trace\":{\"probabilities\":[99999999999]}}", 400,
                "routing_trace.probabilities[0]", "invalid_value");

        // a policy that forbids overrides: tracing only as far as its arm allows
        assertThat(ok("/v1/moe/generate", base + ",\"max_tokens\":2,\"policy\":\"blind\"}").has("routing_trace")).isFalse();
        refused("/v1/moe/generate", base + ",\"max_tokens\":2,\"policy\":\"blind\",\"routing_trace\":{}}", 403, "routing_trace", "not_allowed");
        refused("/v1/chat/completions", "{\"model\":\"" + model.path().getFileName().toString().replace(".gguf", "")
                + "\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"policy\":\"blind\",\"routing_trace\":{}}", 403,
                "routing_trace", "not_allowed");
        assertThat(ok("/v1/moe/generate", base + ",\"max_tokens\":2,\"policy\":\"shown\",\"routing_trace\":{}}").has("routing_trace")).isTrue();
        refused("/v1/moe/generate", base + ",\"max_tokens\":2,\"policy\":\"shown\",\"routing_trace\":{\"probabilities\":[3]}}", 403,
                "routing_trace", "not_allowed");
    }

    private static void assertSame(DecodedTrace streamed, DecodedTrace whole) {
        assertThat(streamed.firstToken()).isZero();
        assertThat(streamed.tokens()).isEqualTo(whole.tokens());
        assertThat(streamed.experts()).containsExactly(whole.experts());
        assertThat(streamed.weights()).containsExactly(whole.weights());
    }

    private JsonNode ok(String path, String body) throws Exception {
        HttpResponse<String> r = post(path, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private void refused(String path, String body, int status, String param, String code) throws Exception {
        HttpResponse<String> r = post(path, body);
        assertThat(r.statusCode()).as(body + " -> " + r.body()).isEqualTo(status);
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertThat(error.get("param").asString()).as(body).isEqualTo(param);
        assertThat(error.get("code").asString()).as(body).isEqualTo(code);
    }

    /** The {@code data:} payloads of a streamed answer, before {@code [DONE]}. */
    private List<String> events(String path, String body) throws Exception {
        HttpResponse<Stream<String>> r = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body().filter(l -> l.startsWith("data: ")).map(l -> l.substring("data: ".length()))
                .takeWhile(d -> !d.equals("[DONE]")).toList();
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
