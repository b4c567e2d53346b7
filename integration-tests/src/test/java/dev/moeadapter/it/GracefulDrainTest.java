package dev.moeadapter.it;

import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import dev.moeadapter.samples.service.MoeAdapterService;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Graceful shutdown: once the service is told to stop, it refuses new requests while a stream in
 * flight runs to its end, whole.
 */
class GracefulDrainTest {
    private static final JsonMapper JSON = JsonMapper.shared();

    @Test
    void anInFlightStreamCompletesWholeWhileNewRequestsAreRefused() throws Exception {
        ConfigurableApplicationContext service = new SpringApplicationBuilder(MoeAdapterService.class, TestStrategies.class).run(
                "--server.port=0", "--moe.adapter.model=" + TestModels.file(RandomModels.Spec.olmoe()),
                "--moe.adapter.threads=1", "--moe.adapter.context-size=256", "--moe.adapter.batch-size=64", "--moe.adapter.sessions=1",
                "--spring.datasource.url=jdbc:h2:mem:drain", "--spring.lifecycle.timeout-per-shutdown-phase=60s",
                "--moe.adapter.default-policy=open", "--moe.adapter.policies.open.allow-override=true",
                "--moe.adapter.policies.open.arms.plain.adaptation=none",
                "--moe.adapter.policies.open.arms.pausing.adaptation=pausing",
                "--moe.adapter.policies.open.arms.pausing.weight=0",
                "--moe.adapter.policies.open.arms.pausing.time-budget=5m");
        String base = "http://127.0.0.1:" + service.getEnvironment().getProperty("local.server.port");
        TestStrategies.Pausing pausing = service.getBean(TestStrategies.Pausing.class);
        CompletableFuture<Void> closing = null;
        try {
            CompletableFuture<HttpResponse<String>> stream = HttpClient.newHttpClient().sendAsync(
                    HttpRequest.newBuilder(URI.create(base + "/v1/moe/generate")).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(
                                    "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"arm\":\"pausing\",\"stream\":true}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(pausing.paused.await(30, TimeUnit.SECONDS)).as("the stream sent its first token").isTrue();

            closing = CompletableFuture.runAsync(service::close);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (accepts(base + "/v1/moe/info")) {
                assertThat(System.nanoTime()).as("new requests are refused once shutting down").isLessThan(deadline);
            }
            assertThat(closing).as("still draining the stream").isNotDone();
            assertThat(stream).isNotDone();

            pausing.release.countDown();
            HttpResponse<String> r = stream.get(30, TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            StringBuilder text = new StringBuilder();
            JsonNode done = null;
            for (String line : r.body().split("\n")) {
                if (line.startsWith("data: {")) {
                    JsonNode e = JSON.readTree(line.substring(6));
                    assertThat(e.get("type").asString()).as(line).isNotEqualTo("error");
                    if (e.get("type").asString().equals("token")) {
                        text.append(e.get("text").asString());
                    } else if (e.get("type").asString().equals("done")) {
                        done = e.get("response");
                    }
                }
            }
            assertThat(done).as("the stream ended with its last event").isNotNull();
            assertThat(done.get("text").asString()).isEqualTo(text.toString());
            assertThat(pausing.tokensAfterPause.get()).as("it went on after the pause").isPositive();
            closing.get(60, TimeUnit.SECONDS);
        } finally {
            pausing.release.countDown();
            if (closing == null) {
                service.close();
            }
        }
    }

    /** Whether a new connection gets an answer within two seconds. */
    private static boolean accepts(String url) {
        HttpClient fresh = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        try {
            return fresh.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            fresh.close();
        }
    }
}
