package dev.moeadapter.spring;

import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.adaptation.ResultCache;
import dev.moeadapter.serving.cache.CaffeineResultCache;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The starter in a real server on a random port, driven over HTTP, on a real GGUF through llama.cpp. */
@SpringBootTest(classes = {TestApplication.class, GenerationEndpointTest.LastLayerEdit.class}, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class GenerationEndpointTest {
    @DynamicPropertySource
    static void model(DynamicPropertyRegistry r) {
        r.add("moe.adapter.model", () -> TestModels.file(RandomModels.Spec.olmoe()).toString());
        r.add("moe.adapter.threads", () -> "1");
        r.add("moe.adapter.context-size", () -> "256");
        r.add("moe.adapter.batch-size", () -> "64");
        r.add("moe.adapter.limits.max-tokens", () -> "64");
        r.add("moe.adapter.limits.max-request-size", () -> "4KB");
        r.add("moe.adapter.c3po.reference-set", () -> ReferenceSets.build(TestModels.olmoe(), ReferenceSets.PROMPTS).toString());
    }

    @LocalServerPort
    int port;

    @Autowired
    JsonMapper json;

    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> post(String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/moe/generate"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void reroutingAndC3poArmsTakeSettingsFromTheRequest() throws Exception {
        String prompt = "\"prompt\":\"Once upon a time\",\"max_tokens\":8";
        String plain = json.readTree(post("{" + prompt + ",\"arm\":\"none\"}").body()).get("text").asString();
        // zero rerouting steps is plain generation
        HttpResponse<String> zero = post("{" + prompt + ",\"arm\":\"rerouting\",\"settings\":{\"steps\":0}}");
        assertThat(zero.statusCode()).as(zero.body()).isEqualTo(200);
        assertThat(json.readTree(zero.body()).get("text").asString()).isEqualTo(plain);
        assertThat(json.readTree(zero.body()).get("routing").get("mean").asDouble()).isCloseTo(0.0, org.assertj.core.api.Assertions.within(1e-5));
        HttpResponse<String> kr = post("{" + prompt + ",\"arm\":\"c3po\",\"settings\":{\"algorithm\":\"mode\",\"k\":2}}");
        assertThat(kr.statusCode()).as(kr.body()).isEqualTo(200);
    }

    @Test
    void generatesWithEachAdaptation() throws Exception {
        for (String arm : List.of("none", "scmoe", "rerouting", "c3po")) {
            HttpResponse<String> r = post("{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"arm\":\"" + arm + "\"}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode b = json.readTree(r.body());
            assertThat(b.get("id").asString()).startsWith("gen-");
            assertThat(b.get("policy").asString()).isEqualTo("default");
            assertThat(b.get("arm").asString()).isEqualTo(arm);
            assertThat(b.get("adaptation").asString()).isEqualTo(arm);
            assertThat(b.get("fallback").isNull()).isTrue();
            JsonNode routing = b.get("routing");
            assertThat(routing.get("layers")).hasSize(3); // the random OLMoE: 3 layers, each an MoE block
            if (arm.equals("none")) {
                assertThat(routing.get("mean").asDouble()).isZero();
            } else {
                assertThat(routing.get("tokens").asInt()).isEqualTo(b.get("usage").get("completion_tokens").asInt());
                if (arm.equals("scmoe")) {
                    // SCMoE's weak view keeps only the rank-2 expert: far from the strong view's routing
                    assertThat(routing.get("mean").asDouble()).as(arm).isBetween(0.3, 1.0);
                } else {
                    // rerouting's deltas and C3PO's re-mixed pathway move routing, by less
                    assertThat(routing.get("mean").asDouble()).as(arm).isGreaterThan(0.0).isLessThanOrEqualTo(1.0);
                }
            }
            assertThat(b.get("usage").get("prompt_tokens").asInt()).isPositive();
            assertThat(b.get("usage").get("completion_tokens").asInt()).isBetween(0, 12);
            assertThat(b.get("timings").get("total_ms").asDouble()).isPositive();
            assertThat(b.get("finish_reason").asString()).isIn("max_tokens", "end_of_generation");
        }
    }

    @Autowired
    ResultCache resultCache;

    @Test
    void aRepeatedPromptReusesTheAdaptationResultAndAnswersTheSame() throws Exception {
        CaffeineResultCache cache = (CaffeineResultCache) resultCache;
        for (String arm : List.of("rerouting", "c3po")) {
            String body = "{\"prompt\":\"A prompt seen twice by " + arm + "\",\"max_tokens\":8,\"arm\":\"" + arm + "\"}";
            long before = cache.size();
            HttpResponse<String> first = post(body);
            long after = cache.size();
            HttpResponse<String> second = post(body);
            assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
            assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
            assertThat(after).as("%s keeps one result for the prompt", arm).isEqualTo(before + 1);
            assertThat(cache.size()).as("%s finds it the second time", arm).isEqualTo(after);
            assertThat(json.readTree(second.body()).get("text").asString()).isEqualTo(json.readTree(first.body()).get("text").asString());
        }
    }

    /** Keeps only the rank-2 expert in the last MoE layer of the answer's sequence: an edited plan, no view of base beside it. */
    @TestConfiguration(proxyBeanMethods = false)
    static class LastLayerEdit {
        @Bean
        AdaptationStrategy lastLayerRankTwo() {
            return new AdaptationStrategy() {
                @Override
                public String name() {
                    return "last-rank-2";
                }

                @Override
                public int sequencesNeeded() {
                    return 1;
                }

                @Override
                public GenerationResult generate(DecodeLane session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
                    int last = session.model().info().lastMoeLayer();
                    session.setPlan(0, new RoutingPlan(List.of(new RouterEdit.KeepRank(last, 2, PositionRange.ALL))));
                    return new Generator(session, 0).generate(request, listener, cancel);
                }
            };
        }
    }

    @Test
    void anEditedPlanIsComparedWithARedecodeWithoutEdits() throws Exception {
        HttpResponse<String> r = post("{\"prompt\":\"Once upon a time\",\"max_tokens\":10,\"arm\":\"last-rank-2\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode b = json.readTree(r.body());
        JsonNode routing = b.get("routing");
        assertThat(routing.get("tokens").asInt()).isEqualTo(b.get("usage").get("completion_tokens").asInt()).isPositive();
        JsonNode layers = routing.get("layers");
        assertThat(layers).hasSize(3);
        // layers before the edited one see the same tokens and route the same; the edited one moved far
        assertThat(layers.get(0).get("shift").asDouble()).isLessThan(0.01);
        assertThat(layers.get(1).get("shift").asDouble()).isLessThan(0.01);
        assertThat(layers.get(2).get("layer").asInt()).isEqualTo(2);
        assertThat(layers.get(2).get("shift").asDouble()).isGreaterThan(0.3);
    }

    @Test
    void chatMessagesUseTheTemplateAndGreedyIsRepeatable() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":10}";
        JsonNode a = json.readTree(post(body).body());
        JsonNode b = json.readTree(post(body).body());
        assertThat(a.get("text").asString()).isEqualTo(b.get("text").asString());
        assertThat(a.get("usage").get("prompt_tokens").asInt()).isGreaterThan(10); // the ChatML wrapping
    }

    @Test
    void streamsServerSentEventsThatAddUpToTheAnswer() throws Exception {
        String plain = json.readTree(post("{\"prompt\":\"abc\",\"max_tokens\":16}").body()).get("text").asString();
        HttpResponse<String> r = post("{\"prompt\":\"abc\",\"max_tokens\":16,\"stream\":true}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
        StringBuilder text = new StringBuilder();
        String done = null;
        for (String line : r.body().split("\n")) {
            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                continue;
            }
            JsonNode e = json.readTree(line.substring(6));
            if (e.get("type").asString().equals("token")) {
                text.append(e.get("text").asString());
            } else if (e.get("type").asString().equals("done")) {
                done = e.get("response").get("text").asString();
            }
        }
        assertThat(r.body()).endsWith("data: [DONE]\n\n");
        assertThat(text.toString()).isEqualTo(plain).isEqualTo(done);
    }

    @Test
    void badInputIsA4xxWithAJsonErrorAndTheServiceKeepsServing() throws Exception {
        record Case(String body, int status, String message) {
        }
        List<Case> cases = List.of(
                new Case("{not json", 400, "malformed request body"),
                new Case("{\"prompt\": 5, \"max_tokens\": \"many\"}", 400, "malformed request body"),
                new Case("{}", 400, "either 'prompt' or a non-empty 'messages': neither was given"),
                new Case("{\"messages\":[]}", 400, "either 'prompt' or a non-empty 'messages': 'messages' is empty"),
                new Case("{\"prompt\":\"a\",\"max_tokens\":1} {}", 400, "malformed request body: content after the JSON object"),
                new Case("{\"prompt\":\"a\",\"stop\":[[\"x\"]]}", 400, "malformed request body at 'stop[0]': an array where a single value belongs"),
                new Case("{\"messages\":[null]}", 400, "must not contain null"),
                new Case("{\"prompt\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"b\"}]}", 400, "not both"),
                new Case("{\"prompt\":\"a\",\"messages\":[]}", 400, "not both"),
                new Case("{\"messages\":[{\"role\":\"\",\"content\":\"b\"}]}", 400, "role must be one of [assistant, system, tool, user]"),
                new Case("{\"prompt\":\"a\",\"max_tokens\":-1}", 400, "max_tokens must be in 1..64"),
                new Case("{\"prompt\":\"a\",\"max_tokens\":100000}", 400, "max_tokens must be in 1..64"),
                new Case("{\"prompt\":\"a\",\"temperature\":-2}", 400, "temperature"),
                new Case("{\"prompt\":\"a\",\"top_p\":0}", 400, "top_p"),
                new Case("{\"prompt\":\"a\",\"arm\":\"magic\"}", 400, "policy 'default' has no arm 'magic'"),
                new Case("{\"prompt\":\"a\",\"policy\":\"magic\"}", 403, "policy 'magic' cannot be named by a request"),
                new Case("{\"prompt\":\"a\",\"arm\":\"scmoe\",\"settings\":{\"beta\":\"x\"}}", 400, "'beta' must be a finite number"),
                new Case("{\"prompt\":\"a\",\"arm\":\"scmoe\",\"settings\":{\"beta\":3e38}}", 400, "'beta' must be"),
                new Case("{\"prompt\":\"a\",\"prompt\":\"b\"}", 400, "Duplicate"),
                new Case("{\"prompt\":\"a\",\"arm\":\"none\",\"settings\":{\"beta\":1}}", 400, "takes no settings"),
                new Case("{\"prompt\":\"a\",\"arm\":\"rerouting\",\"settings\":{\"beta\":1}}", 400, "unknown rerouting setting 'beta'"),
                new Case("{\"prompt\":\"a\",\"arm\":\"rerouting\",\"settings\":{\"param\":\"half\"}}", 400, "'param' must be full, scalar or top:M"),
                new Case("{\"prompt\":\"a\",\"arm\":\"c3po\",\"settings\":{\"algorithm\":\"magic\"}}", 400, "'algorithm' must be kr, kr-paper, mode or ngd"),
                new Case("{\"prompt\":\"a\",\"arm\":\"c3po\",\"settings\":{\"algorithm\":\"kr\",\"steps\":5}}", 400,
                        "'steps' applies to algorithm ngd only"),
                new Case("{\"prompt\":\"a\",\"stop\":[\"\"]}", 400, "stop strings must not be empty"),
                new Case("{\"prompt\":\"" + "word ".repeat(60) + "\"}", 400, "the context holds"),
                new Case("{\"prompt\":\"" + "x".repeat(5000) + "\"}", 413, "exceeds the limit"));
        for (Case c : cases) {
            HttpResponse<String> r = post(c.body());
            assertThat(r.statusCode()).as(c.body()).isEqualTo(c.status());
            assertThat(json.readTree(r.body()).get("error").get("message").asString()).as(c.body()).contains(c.message());
        }
        for (String[] named : new String[][] {{"{\"messages\":[{\"role\":\"user\"}]}", "messages[0].content"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"content\":\"b\"}]}", "messages[1].role"},
                {"{\"messages\":[null]}", "messages[0]"}, {"{\"prompt\":\"a\",\"messages\":[]}", "messages"}}) {
            assertThat(json.readTree(post(named[0]).body()).at("/error/param").asString()).as(named[0]).isEqualTo(named[1]);
        }
        assertThat(post("{\"prompt\":\"still alive\",\"max_tokens\":4}").statusCode()).isEqualTo(200);
    }

    @Test
    void infoDescribesTheModelAndTheArms() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/moe/info")).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode b = json.readTree(r.body());
        assertThat(b.get("architecture").asString()).isEqualTo("olmoe");
        assertThat(b.get("experts").asInt()).isEqualTo(16);
        assertThat(b.get("memory").asString()).isEqualTo("attention");
        assertThat(b.get("adaptations").toString()).contains("none", "scmoe", "rerouting");
    }

    @Test
    void infoListsEachAdaptationsSettingsSchema() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/moe/info")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode settings = json.readTree(r.body()).get("adaptation_settings");
        assertThat(settings.get("none").isArray()).isTrue();
        assertThat(settings.get("none").size()).isZero();
        JsonNode beta = null;
        for (JsonNode s : settings.get("scmoe")) {
            if (s.get("name").asString().equals("beta")) {
                beta = s;
            }
        }
        assertThat(beta).as("scmoe's beta in %s", settings.get("scmoe")).isNotNull();
        assertThat(beta.get("type").asString()).isEqualTo("number");
        assertThat(beta.get("default").asDouble()).isEqualTo(0.5);
        assertThat(beta.get("range").get("min").asDouble()).isEqualTo(0.0);
        assertThat(beta.get("range").get("min_inclusive").asBoolean()).isTrue();
        assertThat(beta.get("range").get("max").asDouble()).isEqualTo(1000.0);
        assertThat(beta.get("meaning").asString()).contains("Contrast strength");
        assertThat(settings.get("rerouting").toString()).contains("\"name\":\"steps\"", "\"max\":100");
        assertThat(settings.get("c3po").toString()).contains("\"choices\":[\"kr\",\"kr-paper\",\"mode\",\"ngd\"]");
        // the application's own strategy describes no schema
        assertThat(settings.get("last-rank-2").isNull()).isTrue();
        // capacity in requests, sequences, KV cells and threads: a session's cells are its sequences' cells
        JsonNode c = json.readTree(r.body()).get("capacity");
        assertThat(c.get("sessions").asInt()).isPositive();
        assertThat(c.get("kv_cells_per_session").asInt())
                .isEqualTo(c.get("sequences_per_session").asInt() * c.get("kv_cells_per_sequence").asInt());
        assertThat(c.get("kv_cells_per_sequence").asInt()).as("moe.adapter.context-size").isEqualTo(256);
        // only the wide sessions hold every sequence; the others two (moe.adapter.wide-sessions: a quarter, at least one)
        int sessions = c.get("sessions").asInt(), wide = c.get("wide_sessions").asInt(), narrow = Math.min(2, c.get("sequences_per_session").asInt());
        assertThat(wide).isEqualTo(narrow < c.get("sequences_per_session").asInt() ? Math.max(1, (sessions + 3) / 4) : sessions);
        assertThat(c.get("kv_cells").asLong()).isEqualTo((long) wide * c.get("kv_cells_per_session").asInt()
                + (long) (sessions - wide) * narrow * c.get("kv_cells_per_sequence").asInt());
        assertThat(c.get("threads_per_decode").asInt()).isPositive();
        assertThat(c.get("threads_per_single_row_decode").asInt()).isBetween(1, c.get("threads_per_decode").asInt());
    }
}
