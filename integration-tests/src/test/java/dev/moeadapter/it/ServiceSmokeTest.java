package dev.moeadapter.it;

import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import dev.moeadapter.samples.service.MoeAdapterService;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** The runnable service, started for real on a random port. */
@SpringBootTest(classes = MoeAdapterService.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class ServiceSmokeTest {
    @DynamicPropertySource
    static void model(DynamicPropertyRegistry r) {
        r.add("moe.adapter.model", () -> TestModels.file(RandomModels.Spec.olmoe()).toString());
        r.add("moe.adapter.threads", () -> "1");
        r.add("moe.adapter.context-size", () -> "256");
        r.add("moe.adapter.batch-size", () -> "64");
    }

    @LocalServerPort
    int port;

    @Test
    void servesHealthAndGeneration() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> health = http.send(HttpRequest.newBuilder(
                URI.create("http://localhost:" + port + "/actuator/health")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(200);
        HttpResponse<String> gen = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/moe/generate"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"abc\",\"max_tokens\":4}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(gen.statusCode()).as(gen.body()).isEqualTo(200);
        assertThat(gen.body()).contains("\"usage\"");
    }
}
