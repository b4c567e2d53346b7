package dev.moeadapter.it;

import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import dev.moeadapter.samples.service.MoeAdapterService;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The runnable service on a random port over the random-weight OLMoE fixture, small enough to be
 * quick: one thread, 256 tokens of context, at most 64 new tokens, 16 KB bodies. Test classes that
 * extend it without adding properties share one running service.
 */
@SpringBootTest(classes = MoeAdapterService.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
abstract class RunningService {
    static final Path MODEL = TestModels.file(RandomModels.Spec.olmoe());
    /** What {@code /v1/models} calls the served model: its file name without ".gguf". */
    static final String MODEL_ID = MODEL.getFileName().toString().replace(".gguf", "");
    static final JsonMapper JSON = JsonMapper.shared();

    @DynamicPropertySource
    static void service(DynamicPropertyRegistry r) {
        r.add("moe.adapter.model", () -> "${it.model:" + MODEL + "}"); // a subclass may name another model as it.model
        r.add("moe.adapter.threads", () -> "1");
        r.add("moe.adapter.context-size", () -> "256");
        r.add("moe.adapter.batch-size", () -> "64");
        r.add("moe.adapter.limits.max-tokens", () -> "${it.max-tokens:64}"); // a subclass may allow longer answers
        r.add("moe.adapter.limits.max-request-size", () -> "16KB");
    }

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newHttpClient();

    String url(String path) {
        return "http://localhost:" + port + path;
    }

    HttpResponse<String> post(String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).GET();
        if (headers.length > 0) {
            b.headers(headers);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The service's {@code GET /v1/moe/info}. */
    JsonNode info() throws IOException, InterruptedException {
        return json(get("/v1/moe/info").body());
    }

    /** {@link #info} once {@code condition} holds for it, or as it is after 60 s (the caller's assertion then fails). */
    JsonNode awaitInfo(Predicate<JsonNode> condition) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            JsonNode i = info();
            if (condition.test(i) || System.nanoTime() > deadline) {
                return i;
            }
            Thread.sleep(20);
        }
    }

    /** A native request ({@code POST /v1/moe/generate}) for a task of its own: a failure to send is unchecked. */
    HttpResponse<String> generateNow(String body) {
        try {
            return post("/v1/moe/generate", body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A native request of 8 tokens on {@code arm}, streamed or not. */
    static String generate(String arm, boolean stream) {
        return "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"arm\":\"" + arm + "\",\"stream\":" + stream + "}";
    }

    static JsonNode json(String body) {
        return JSON.readTree(body);
    }
}
