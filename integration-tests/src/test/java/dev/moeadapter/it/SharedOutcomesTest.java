package dev.moeadapter.it;

import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import dev.moeadapter.samples.service.MoeAdapterService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two replicas of the service sharing one real PostgreSQL (started and stopped by the test): they
 * report the same A/B totals whichever of them answered or received the feedback, and a replica
 * restarted reports them still.
 */
class SharedOutcomesTest {
    @RegisterExtension
    static final PostgresServer POSTGRES = new PostgresServer();

    private static final JsonMapper JSON = JsonMapper.shared();
    private final HttpClient http = HttpClient.newHttpClient();

    private static ConfigurableApplicationContext replica() {
        return new SpringApplicationBuilder(MoeAdapterService.class).run(
                "--server.port=0", "--moe.adapter.model=" + TestModels.file(RandomModels.Spec.olmoe()),
                "--moe.adapter.threads=1", "--moe.adapter.context-size=256", "--moe.adapter.batch-size=64", "--moe.adapter.sessions=1",
                "--spring.datasource.url=" + POSTGRES.url(), "--spring.datasource.username=" + PostgresServer.USER,
                "--moe.adapter.security.public-policies=true", "--moe.adapter.default-policy=ab",
                "--moe.adapter.policies.ab.allow-override=true",
                "--moe.adapter.policies.ab.arms.control.adaptation=none",
                "--moe.adapter.policies.ab.arms.contrast.adaptation=scmoe");
    }

    private static String url(ConfigurableApplicationContext replica, String path) {
        return "http://127.0.0.1:" + replica.getEnvironment().getProperty("local.server.port") + path;
    }

    private JsonNode send(ConfigurableApplicationContext replica, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(replica, path)));
        if (body != null) {
            b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private String answer(ConfigurableApplicationContext replica, String arm) throws Exception {
        return send(replica, "/v1/moe/generate", "{\"prompt\":\"Once upon a time\",\"max_tokens\":3,\"arm\":\"" + arm + "\"}")
                .get("id").asString();
    }

    @Test
    void replicasSharingADatabaseReportTheSameTotalsAndARestartKeepsThem() throws Exception {
        ConfigurableApplicationContext a = replica(), b = replica();
        try {
            List<String> fromA = new ArrayList<>(), fromB = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                fromA.add(answer(a, i % 2 == 0 ? "control" : "contrast"));
                fromB.add(answer(b, i % 2 == 0 ? "contrast" : "control"));
            }
            // feedback reaches the other replica than the one that answered
            for (String id : fromA) {
                send(b, "/v1/moe/feedback", "{\"request_id\":\"" + id + "\",\"correct\":true}");
            }
            for (String id : fromB) {
                send(a, "/v1/moe/feedback", "{\"request_id\":\"" + id + "\",\"score\":0.5}");
            }
            JsonNode report = send(a, "/v1/moe/policies/ab/report", null);
            assertThat(send(b, "/v1/moe/policies/ab/report", null)).isEqualTo(report);
            long answers = 0, verdicts = 0, scores = 0;
            for (JsonNode arm : report.get("arms")) {
                answers += arm.get("answers").asLong();
                for (JsonNode g : arm.get("groups")) {
                    verdicts += g.get("correct").get("n").asLong();
                    scores += g.get("score").get("n").asLong();
                }
            }
            assertThat(answers).isEqualTo(6);
            assertThat(verdicts).isEqualTo(3);
            assertThat(scores).isEqualTo(3);

            a.close();
            a = replica();
            assertThat(send(a, "/v1/moe/policies/ab/report", null)).as("after a restart").isEqualTo(report);
        } finally {
            a.close();
            b.close();
        }
    }
}
