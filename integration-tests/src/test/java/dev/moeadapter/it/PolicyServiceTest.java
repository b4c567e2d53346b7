package dev.moeadapter.it;

import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import dev.moeadapter.samples.service.MoeAdapterService;
import dev.moeadapter.serving.policy.PolicyRouter;
import io.micrometer.core.instrument.MeterRegistry;
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
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A/B policies, feedback, guards, health and metrics of the runnable service, started for real on a
 * random port with one session, driven over HTTP. Policy "ab" assigns its two arms half and half;
 * policy "lab" lets requests pick an arm, among them adaptations that misbehave on purpose.
 */
@SpringBootTest(classes = {MoeAdapterService.class, TestStrategies.class}, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
                "moe.adapter.threads=1", "moe.adapter.context-size=256", "moe.adapter.batch-size=64",
                "moe.adapter.sessions=1", "moe.adapter.acquire-timeout=300ms",
                "moe.adapter.default-policy=ab", "moe.adapter.selectable-policies=lab",
                "moe.adapter.security.trusted-proxies=127.0.0.1", "moe.adapter.security.public-policies=true",
                "moe.adapter.policies.ab.arms.control.adaptation=none",
                "moe.adapter.policies.ab.arms.contrast.adaptation=scmoe",
                "moe.adapter.policies.ab.arms.contrast.settings.beta=0.5",
                "moe.adapter.policies.lab.allow-override=true",
                "moe.adapter.policies.lab.arms.plain.adaptation=none",
                "moe.adapter.policies.lab.arms.scmoe.adaptation=scmoe",
                "moe.adapter.policies.lab.arms.scmoe.weight=0",
                "moe.adapter.policies.lab.arms.slow.adaptation=slow",
                "moe.adapter.policies.lab.arms.slow.weight=0",
                "moe.adapter.policies.lab.arms.slow.time-budget=400ms",
                "moe.adapter.policies.lab.arms.hold.adaptation=slow",
                "moe.adapter.policies.lab.arms.hold.weight=0",
                "moe.adapter.policies.lab.arms.hold.time-budget=2s",
                "moe.adapter.policies.lab.arms.flaky.adaptation=flaky",
                "moe.adapter.policies.lab.arms.flaky.weight=0",
                "moe.adapter.policies.lab.arms.drip.adaptation=dripping",
                "moe.adapter.policies.lab.arms.drip.weight=0",
                "moe.adapter.policies.lab.arms.drip.time-budget=200ms",
                "moe.adapter.guards.breaker.window=4", "moe.adapter.guards.breaker.minimum-calls=3",
                "moe.adapter.guards.breaker.failure-rate=50", "moe.adapter.guards.breaker.wait-in-open=1s",
                "moe.adapter.guards.breaker.half-open-calls=1",
                "management.endpoints.web.exposure.include=health,metrics,prometheus",
                "management.endpoint.health.show-details=always"})
class PolicyServiceTest {
    @DynamicPropertySource
    static void model(DynamicPropertyRegistry r) {
        r.add("moe.adapter.model", () -> TestModels.file(RandomModels.Spec.olmoe()).toString());
    }

    @LocalServerPort
    int port;

    @Autowired
    JsonMapper json;

    @Autowired
    MeterRegistry meters;

    @Autowired
    PolicyRouter router;

    @Autowired
    TestStrategies.Slow slow;

    @Autowired
    TestStrategies.Flaky flaky;

    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> post(String path, String body, String caller) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (caller != null) {
            b.header("X-Caller-Id", caller);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode generate(String body, String caller) throws Exception {
        HttpResponse<String> r = post("/v1/moe/generate", body, caller);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json.readTree(r.body());
    }

    private JsonNode get(String path, String caller) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://localhost:" + port + path));
        if (caller != null) {
            b.header("X-Caller-Id", caller);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        return json.readTree(r.body());
    }

    private JsonNode arm(String policy, String arm) throws Exception {
        for (JsonNode p : get("/v1/moe/policies", null).get("policies")) {
            if (p.get("name").asString().equals(policy)) {
                for (JsonNode a : p.get("arms")) {
                    if (a.get("name").asString().equals(arm)) {
                        return a;
                    }
                }
            }
        }
        throw new AssertionError("no arm " + policy + "/" + arm);
    }

    private static String lab(String arm, boolean stream) {
        return "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"policy\":\"lab\",\"arm\":\"" + arm + "\",\"stream\":" + stream + "}";
    }

    @Test
    void weightsAreRespectedOverManyCallersAndACallerKeepsItsArm() throws Exception {
        int n = 1000, contrast = 0;
        for (int i = 0; i < n; i++) {
            contrast += router.assign(null, "user-" + i, null, StrategySettings.NONE).arm().name().equals("contrast") ? 1 : 0;
        }
        // equal weights; the binomial standard deviation over 1000 callers is 0.016, the tolerance about 4 of them
        assertThat(contrast / (double) n).isCloseTo(0.5, within(0.06));
        for (int i = 0; i < 20; i++) {
            JsonNode a = get("/v1/moe/assignment", "user-" + i);
            assertThat(a.get("policy").asString()).isEqualTo("ab");
            assertThat(a.get("basis").asString()).isEqualTo("caller");
            assertThat(a.get("arm").asString()).isEqualTo(router.assign(null, "user-" + i, null, StrategySettings.NONE).arm().name());
        }
        assertThat(get("/v1/moe/assignment", null).get("basis").asString()).isEqualTo("random");

        Set<String> arms = new HashSet<>();
        for (String caller : new String[]{"user-1", "user-2", "user-3", "user-4"}) {
            String assigned = get("/v1/moe/assignment", caller).get("arm").asString();
            for (int k = 0; k < 2; k++) {
                JsonNode r = generate("{\"prompt\":\"Hello\",\"max_tokens\":4}", caller);
                assertThat(r.get("policy").asString()).isEqualTo("ab");
                assertThat(r.get("arm").asString()).as(caller).isEqualTo(assigned);
                assertThat(r.get("adaptation").asString()).isEqualTo(assigned.equals("contrast") ? "scmoe" : "none");
            }
            arms.add(assigned);
        }
        assertThat(arms).as("these four callers cover both arms").containsExactlyInAnyOrder("control", "contrast");
    }

    @Test
    void overridesAreRefusedWhereThePolicyDoesNotAllowThem() throws Exception {
        for (String body : new String[]{"{\"prompt\":\"a\",\"arm\":\"control\"}", "{\"prompt\":\"a\",\"settings\":{\"beta\":0.1}}",
                "{\"prompt\":\"a\",\"arm\":\"steer\",\"settings\":{\"promote\":\"0:1\"}}"}) {
            HttpResponse<String> r = post("/v1/moe/generate", body, "user-1");
            assertThat(r.statusCode()).as(body).isEqualTo(403);
            assertThat(json.readTree(r.body()).get("error").get("message").asString()).contains("policy 'ab' assigns arms itself");
        }
        JsonNode r = generate("{\"prompt\":\"Once upon a time\",\"max_tokens\":6,\"policy\":\"lab\",\"arm\":\"scmoe\",\"settings\":{\"beta\":0.9,\"weak\":\"rank:3\"}}", null);
        assertThat(r.get("arm").asString()).isEqualTo("scmoe");
        assertThat(r.get("adaptation").asString()).isEqualTo("scmoe");
        assertThat(r.get("routing").get("mean").asDouble()).isPositive();
        HttpResponse<String> bad = post("/v1/moe/generate", "{\"prompt\":\"a\",\"policy\":\"lab\",\"arm\":\"scmoe\",\"settings\":{\"weak\":\"rank:99\"}}", null);
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(json.readTree(bad.body()).get("error").get("message").asString()).contains("k must be in 1..16");
    }

    @Test
    void feedbackCreditsTheArmThatAnswered() throws Exception {
        JsonNode before = arm("lab", "plain").get("stats").get("feedback");
        String id = generate(lab("plain", false), null).get("id").asString();
        String other = generate(lab("plain", false), null).get("id").asString();
        HttpResponse<String> ok = post("/v1/moe/feedback", "{\"request_id\":\"" + id + "\",\"correct\":true}", null);
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(json.readTree(ok.body()).get("arm").asString()).isEqualTo("plain");
        assertThat(json.readTree(ok.body()).get("adaptation").asString()).isEqualTo("none");
        assertThat(post("/v1/moe/feedback", "{\"request_id\":\"" + other + "\",\"score\":0.25}", null).statusCode()).isEqualTo(200);

        JsonNode after = arm("lab", "plain").get("stats").get("feedback");
        assertThat(after.get("count").asLong()).isEqualTo(before.get("count").asLong() + 2);
        assertThat(after.get("correct").asLong()).isEqualTo(before.get("correct").asLong() + 1);
        assertThat(after.get("correct_rate").asDouble()).isEqualTo(1.0);
        assertThat(after.get("mean_score").asDouble()).isEqualTo(0.25);
        assertThat(meters.get("moe.adapter.feedback").tags("policy", "lab", "arm", "plain", "adaptation", "none", "verdict", "correct").counter().count())
                .isEqualTo(after.get("correct").asLong());
        JsonNode metric = get("/actuator/metrics/moe.adapter.feedback.score?tag=policy:lab&tag=arm:plain", null);
        assertThat(metric.get("measurements").get(0).get("value").asDouble()).isEqualTo(1); // COUNT

        record Case(String body, int status, String message) {
        }
        for (Case c : new Case[]{
                new Case("{\"request_id\":\"" + id + "\",\"correct\":false}", 404, "already credited"),
                new Case("{\"request_id\":\"gen-nope\",\"correct\":false}", 404, "no answer 'gen-nope'"),
                new Case("{\"request_id\":\"" + id + "\",\"correct\":true,\"score\":1}", 400, "exactly one of"),
                new Case("{\"request_id\":\"" + id + "\"}", 400, "exactly one of"),
                new Case("{\"correct\":true}", 400, "request_id"),
                new Case("{\"request_id\":\"x\",\"score\":\"high\"}", 400, "malformed request body")}) {
            HttpResponse<String> r = post("/v1/moe/feedback", c.body(), null);
            assertThat(r.statusCode()).as(c.body()).isEqualTo(c.status());
            assertThat(json.readTree(r.body()).get("error").get("message").asString()).as(c.body()).contains(c.message());
        }
    }

    @Test
    void aSlowAdaptationFallsBackToPlainGenerationWithinItsBudget() throws Exception {
        String plain = generate(lab("plain", false), null).get("text").asString();
        long fallbacks = (long) meters.counter("moe.adapter.fallbacks", "policy", "lab", "arm", "slow", "reason", "time_budget").count();

        JsonNode r = generate(lab("slow", false), null);
        assertThat(r.get("arm").asString()).isEqualTo("slow");
        assertThat(r.get("adaptation").asString()).isEqualTo("none");
        assertThat(r.get("fallback").get("reason").asString()).isEqualTo("time_budget");
        assertThat(r.get("text").asString()).isEqualTo(plain);
        // the budget is 400 ms: the adaptation was stopped then (its clock starts a little after the budget's;
        // slack for a busy machine), not after its own minute
        assertThat(slow.stoppedAfterNanos.get() / 1e6).isBetween(300.0, 3000.0);
        assertThat(r.get("timings").get("total_ms").asDouble()).isLessThan(10_000);

        // streamed: the client sees only the plain answer, marked as a fallback in the final event
        HttpResponse<String> s = post("/v1/moe/generate", lab("slow", true), null);
        StringBuilder text = new StringBuilder();
        JsonNode done = null;
        for (String line : s.body().split("\n")) {
            if (line.startsWith("data: {")) {
                JsonNode e = json.readTree(line.substring(6));
                if (e.get("type").asString().equals("token")) {
                    text.append(e.get("text").asString());
                } else if (e.get("type").asString().equals("done")) {
                    done = e.get("response");
                }
            }
        }
        assertThat(text.toString()).isEqualTo(plain);
        assertThat(done).isNotNull();
        assertThat(done.get("fallback").get("reason").asString()).isEqualTo("time_budget");
        assertThat(meters.counter("moe.adapter.fallbacks", "policy", "lab", "arm", "slow", "reason", "time_budget").count())
                .isEqualTo(fallbacks + 2);
        assertThat(arm("lab", "slow").get("stats").get("fallbacks").get("time_budget").asLong()).isEqualTo(fallbacks + 2);
    }

    @Test
    void feedbackOnAFallbackAnswerIsCreditedToPlainGenerationInTheReport() throws Exception {
        JsonNode r = generate(lab("slow", false), null);
        assertThat(r.get("fallback").get("reason").asString()).isEqualTo("time_budget");
        HttpResponse<String> credited = post("/v1/moe/feedback", "{\"request_id\":\"" + r.get("id").asString() + "\",\"correct\":true}", null);
        assertThat(credited.statusCode()).as(credited.body()).isEqualTo(200);
        assertThat(json.readTree(credited.body()).get("adaptation").asString()).isEqualTo("none");

        JsonNode report = get("/v1/moe/policies/lab/report", null);
        assertThat(report.get("control").asString()).isEqualTo("plain");
        JsonNode slowArm = null;
        for (JsonNode a : report.get("arms")) {
            if (a.get("arm").asString().equals("slow")) {
                slowArm = a;
            }
        }
        assertThat(slowArm).isNotNull();
        assertThat(slowArm.get("adaptation").asString()).isEqualTo("slow");
        JsonNode fallbackGroup = null;
        for (JsonNode g : slowArm.get("groups")) {
            assertThat(g.get("answered_by").asString()).as("the slow adaptation never answered in time").isEqualTo("none");
            fallbackGroup = g;
        }
        assertThat(fallbackGroup.get("fallback").asBoolean()).isTrue();
        assertThat(fallbackGroup.get("correct").get("correct").asLong()).isPositive();
        for (JsonNode c : report.get("comparisons")) {
            if (c.get("arm").asString().equals("slow")) {
                assertThat(c.get("arm_n").asLong()).as("the arm's own adaptation has no outcomes").isZero();
                assertThat(c.get("decision").asString()).isEqualTo("not_enough_data");
            }
        }
        assertThat(report.get("method").get("alpha").asDouble()).isEqualTo(0.05);

        HttpResponse<String> unknown = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/moe/policies/nope/report"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json.readTree(unknown.body()).at("/error/code").asString()).isEqualTo("unknown_policy");
    }

    @Test
    void theReportPageShowsTheResultsInARealBrowser() throws Exception {
        String id = generate(lab("plain", false), null).get("id").asString();
        assertThat(post("/v1/moe/feedback", "{\"request_id\":\"" + id + "\",\"correct\":true}", null).statusCode()).isEqualTo(200);
        long verdicts = 0;
        for (JsonNode a : get("/v1/moe/policies/lab/report", null).get("arms")) {
            if (a.get("arm").asString().equals("plain")) {
                verdicts = a.get("groups").get(0).get("correct").get("n").asLong();
            }
        }

        String dom = HeadlessBrowser.dom("http://localhost:" + port + "/v1/moe/policies/lab/report.html");
        assertThat(dom).contains("<title>A/B report: lab</title>", "<table id=\"arms\">", "<table id=\"comparisons\">");
        assertThat(dom).containsPattern("<td class=\"t\">plain \\(control\\)</td><td class=\"t\">none</td><td class=\"t\">none</td>"
                + "<td>\\d+</td><td>\\d+</td><td>1\\.000 \\[");
        assertThat(dom).contains("<td>scmoe</td><td>correct_rate</td><td>" + verdicts + "</td>");
        assertThat(dom).doesNotContain("<script");
    }

    @Test
    void aFullPoolAnswers503WithRetryAfterAndRecovers() throws Exception {
        // "hold" keeps the only session for its 2 s budget, then answers plainly
        CompletableFuture<HttpResponse<String>> holder = CompletableFuture.supplyAsync(() -> {
            try {
                return post("/v1/moe/generate", lab("hold", false), null);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (get("/actuator/health", null).get("components").get("moeAdapter").get("details").get("sessionsFree").asInt() > 0) {
            assertThat(System.nanoTime()).as("the holding request got its session").isLessThan(deadline);
            Thread.sleep(20);
        }
        HttpResponse<String> notReady = raw("/actuator/health/readiness");
        assertThat(notReady.statusCode()).as("no decode slot free: not ready").isEqualTo(503);
        assertThat(json.readTree(notReady.body()).get("status").asString()).isEqualTo("BUSY");
        assertThat(raw("/actuator/health/liveness").statusCode()).as("but alive").isEqualTo(200);
        assertThat(get("/actuator/health", null).get("status").asString()).as("and healthy").isEqualTo("UP");
        HttpResponse<String> busy = post("/v1/moe/generate", "{\"prompt\":\"a\",\"max_tokens\":2}", null);
        assertThat(busy.statusCode()).isEqualTo(503);
        assertThat(busy.headers().firstValue("Retry-After").map(Long::parseLong)).hasValueSatisfying(s -> assertThat(s).isPositive());
        JsonNode error = json.readTree(busy.body()).get("error");
        assertThat(error.get("type").asString()).isEqualTo("server_busy");
        assertThat(error.get("message").asString()).contains("all 1 sessions are busy");

        HttpResponse<String> held = holder.get();
        assertThat(held.statusCode()).isEqualTo(200);
        assertThat(json.readTree(held.body()).get("fallback").get("reason").asString()).isEqualTo("time_budget");
        assertThat(post("/v1/moe/generate", "{\"prompt\":\"a\",\"max_tokens\":2}", null).statusCode()).isEqualTo(200);
        assertThat(raw("/actuator/health/readiness").statusCode()).as("a slot is free again").isEqualTo(200);
    }

    private HttpResponse<String> raw(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void prometheusScrapesTheGenAiAndMoeMetrics() throws Exception {
        generate(lab("slow", false), null); // a fallback, so that moe.adapter.fallbacks exists
        generate("{\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"policy\":\"lab\",\"arm\":\"scmoe\"}", null);
        HttpResponse<String> r = raw("/actuator/prometheus");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("gen_ai_server_request_duration_seconds_bucket{", "gen_ai_server_time_to_first_token_seconds_bucket{",
                "gen_ai_client_token_usage_tokens_bucket{", "moe_adapter_adaptation_duration_seconds_count{",
                "moe_adapter_routing_shift_count{", "moe_adapter_fallbacks_total{", "moe_adapter_admission_queue ",
                "moe_adapter_admission_wait_seconds_count ", "moe_adapter_admission_wait_seconds_bucket{le=", "moe_adapter_admission_admitted_total ");
        assertThat(r.body()).containsPattern("gen_ai_server_request_duration_seconds_count\\{[^}]*arm=\"scmoe\"[^}]*policy=\"lab\"");
    }

    @Test
    void theCircuitBreakerOpensAfterRepeatedFailuresAndClosesAfterItsWait() throws Exception {
        long errorsBefore = arm("lab", "flaky").get("stats").path("fallbacks").path("adaptation_error").asLong();
        flaky.failing = true;
        for (int i = 0; i < 3; i++) {
            JsonNode r = generate(lab("flaky", false), null);
            assertThat(r.get("fallback").get("reason").asString()).isEqualTo("adaptation_error");
            assertThat(r.get("adaptation").asString()).isEqualTo("none");
        }
        assertThat(arm("lab", "flaky").get("breaker").asString()).isEqualTo("open");
        int calls = flaky.calls.get();
        JsonNode shortCircuited = generate(lab("flaky", false), null);
        assertThat(shortCircuited.get("fallback").get("reason").asString()).isEqualTo("circuit_open");
        assertThat(flaky.calls.get()).as("an open breaker does not call the adaptation").isEqualTo(calls);
        assertThat(meters.counter("moe.adapter.fallbacks", "policy", "lab", "arm", "flaky", "reason", "circuit_open").count()).isEqualTo(1);

        flaky.failing = false;
        Thread.sleep(1100); // the breaker's wait
        JsonNode r = generate(lab("flaky", false), null);
        assertThat(r.get("fallback").isNull()).as(r.toString()).isTrue();
        assertThat(r.get("adaptation").asString()).isEqualTo("flaky");
        assertThat(arm("lab", "flaky").get("breaker").asString()).isEqualTo("closed");
        JsonNode stats = arm("lab", "flaky").get("stats");
        assertThat(stats.get("fallbacks").get("adaptation_error").asLong()).isEqualTo(errorsBefore + 3);
        assertThat(stats.get("fallbacks").get("circuit_open").asLong()).isEqualTo(1);
    }

    /**
     * A client cannot open an arm's circuit for the others: answers it makes long enough to be cut by
     * the time budget, prompts whose adaptation outlasts the budget before the first token (a long prompt
     * makes any adaptation's work longer), and requests with settings of its own (here failing ones),
     * leave the breaker closed, while the same failures with the arm's own settings open it (the test above).
     */
    @Test
    void whatAClientChoosesDoesNotOpenTheCircuit() throws Exception {
        for (int i = 0; i < 4; i++) {
            JsonNode cut = generate("{\"prompt\":\"Once upon a time\",\"max_tokens\":64,\"policy\":\"lab\",\"arm\":\"drip\"}", null);
            assertThat(cut.get("finish_reason").asString()).as(cut.toString()).isEqualTo("time_budget");
        }
        assertThat(arm("lab", "drip").get("breaker").asString()).as("after 4 answers cut by the budget").isEqualTo("closed");
        for (int i = 0; i < 4; i++) {
            JsonNode late = generate(lab("slow", false), null);
            assertThat(late.get("fallback").get("reason").asString()).as(late.toString()).isEqualTo("time_budget");
        }
        assertThat(arm("lab", "slow").get("breaker").asString()).as("after 4 budgets run out before the first token").isEqualTo("closed");
        flaky.failing = true;
        try {
            for (int i = 0; i < 4; i++) {
                JsonNode r = generate("{\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"policy\":\"lab\",\"arm\":\"flaky\","
                        + "\"settings\":{\"chosen\":\"by the client\"}}", null);
                assertThat(r.get("fallback").get("reason").asString()).isEqualTo("adaptation_error");
            }
            assertThat(arm("lab", "flaky").get("breaker").asString()).as("after 4 failures under a client's own settings").isEqualTo("closed");
        } finally {
            flaky.failing = false;
        }
    }

    @Test
    void healthReportsTheModel() throws Exception {
        JsonNode health = get("/actuator/health", null);
        assertThat(health.get("status").asString()).isEqualTo("UP");
        JsonNode d = health.get("components").get("moeAdapter").get("details");
        assertThat(d.get("model").asString()).endsWith(".gguf");
        assertThat(d.get("architecture").asString()).isEqualTo("olmoe");
        assertThat(d.get("moeLayers").asInt()).isEqualTo(3);
        assertThat(d.get("experts").asInt()).isEqualTo(16);
        assertThat(d.get("topK").asInt()).isEqualTo(4);
        assertThat(d.get("sessionsTotal").asInt()).isEqualTo(1);
    }

    @Test
    void genAiAndRoutingMetricsAreRecordedPerArm() throws Exception {
        String[] tags = {"gen_ai.operation.name", "chat", "gen_ai.provider.name", "moe_adapter", "policy", "lab", "arm", "scmoe"};
        long adaptations = meters.timer("moe.adapter.adaptation.duration", "policy", "lab", "arm", "scmoe", "adaptation", "scmoe").count();
        double shifts = meters.summary("moe.adapter.routing.shift", "policy", "lab", "arm", "scmoe").totalAmount();
        long requests = arm("lab", "scmoe").get("stats").get("requests").asLong();

        JsonNode r = generate("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":6,\"policy\":\"lab\",\"arm\":\"scmoe\"}", null);
        int output = r.get("usage").get("completion_tokens").asInt();
        assertThat(meters.get("gen_ai.server.request.duration").tags(tags).timer().count()).isEqualTo(1);
        assertThat(meters.get("gen_ai.server.time_to_first_token").tags(tags).timer().count()).isEqualTo(1);
        if (output > 1) {
            assertThat(meters.get("gen_ai.server.time_per_output_token").tags(tags).timer().count()).isEqualTo(1);
        }
        assertThat(meters.get("gen_ai.client.token.usage").tags(tags).tag("gen_ai.token.type", "input").summary().totalAmount())
                .isEqualTo(r.get("usage").get("prompt_tokens").asDouble());
        assertThat(meters.get("gen_ai.client.token.usage").tags(tags).tag("gen_ai.token.type", "output").summary().totalAmount())
                .isEqualTo(output);
        assertThat(meters.timer("moe.adapter.adaptation.duration", "policy", "lab", "arm", "scmoe", "adaptation", "scmoe").count())
                .isEqualTo(adaptations + 1);
        assertThat(meters.summary("moe.adapter.routing.shift", "policy", "lab", "arm", "scmoe").totalAmount() - shifts)
                .isCloseTo(r.get("routing").get("mean").asDouble(), within(1e-9));
        JsonNode metric = get("/actuator/metrics/gen_ai.server.request.duration?tag=policy:lab&tag=arm:scmoe&tag=gen_ai.operation.name:chat", null);
        assertThat(metric.get("baseUnit").asString()).isEqualTo("seconds");
        assertThat(metric.get("measurements").get(0).get("value").asDouble()).isEqualTo(1);
        assertThat(get("/actuator/metrics/resilience4j.circuitbreaker.state", null).get("availableTags").toString()).contains("lab/scmoe");
        JsonNode stats = arm("lab", "scmoe").get("stats");
        assertThat(stats.get("requests").asLong()).isEqualTo(requests + 1);
        assertThat(stats.get("routing_shift_mean").asDouble()).isPositive();
    }
}
