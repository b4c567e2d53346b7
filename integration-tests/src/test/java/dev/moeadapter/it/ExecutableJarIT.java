package dev.moeadapter.it;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The deployable: {@code java -jar} of the packaged service, started from an empty working
 * directory with empty caches and temporary directory (as on a clean machine), answers on its
 * embedded lab model, keeps its A/B outcomes in its H2 file, and still reports them after a restart.
 */
class ExecutableJarIT {
    private static final JsonMapper JSON = JsonMapper.shared();
    private final HttpClient http = HttpClient.newHttpClient();
    private Path dir;
    private Process process;

    @AfterEach
    void cleanUp() throws IOException {
        if (process != null) {
            process.destroyForcibly();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void theJarStartsInAnEmptyDirectoryAnswersAndKeepsItsOutcomesAcrossARestart() throws Exception {
        Path jar = Path.of(System.getProperty("moe.service.jar", "")).toAbsolutePath();
        assertThat(jar).as("the packaged service (samples module, package phase)").isRegularFile();
        dir = Files.createTempDirectory("moe-jar-");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String base = "http://127.0.0.1:" + port;

        start(jar, port);
        JsonNode answer = send(base + "/v1/moe/generate", "{\"prompt\":\"REV:abc=cba,hgde=edgh,bfa=\",\"max_tokens\":8}");
        assertThat(answer.get("id").asString()).startsWith("gen-");
        assertThat(answer.get("finish_reason").asString()).isIn("end_of_generation", "max_tokens");
        send(base + "/v1/moe/feedback", "{\"request_id\":\"" + answer.get("id").asString() + "\",\"correct\":true}");
        JsonNode report = send(base + "/v1/moe/policies/default/report", null);
        assertThat(Files.exists(dir.resolve("work/moe-adapter-data/outcomes.mv.db"))).isTrue();
        stop();

        start(jar, port);
        assertThat(send(base + "/v1/moe/policies/default/report", null)).as("after a restart").isEqualTo(report);
        JsonNode none = report.get("arms").valueStream().filter(a -> a.get("arm").asString().equals("none")).findFirst().orElseThrow();
        assertThat(none.get("answers").asLong()).isEqualTo(1);
        assertThat(none.get("groups").get(0).get("correct").get("correct").asLong()).isEqualTo(1);
        stop();
    }

    private void start(Path jar, int port) throws Exception {
        Path work = Files.createDirectories(dir.resolve("work")), tmp = Files.createDirectories(dir.resolve("tmp"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(List.of(java, "-Djava.io.tmpdir=" + tmp, "-jar", jar.toString(), "--server.port=" + port,
                "--moe.adapter.threads=1", "--moe.adapter.security.public-policies=true"))
                .directory(work.toFile()).redirectErrorStream(true).redirectOutput(dir.resolve("service.log").toFile());
        pb.environment().put("MOE_ADAPTER_CACHE", dir.resolve("cache").toString());
        pb.environment().remove("MOE_ADAPTER_MODEL");
        process = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (!ready("http://127.0.0.1:" + port + "/actuator/health/readiness")) {
            assertThat(process.isAlive()).as(() -> "the service exited:\n" + log()).isTrue();
            assertThat(System.nanoTime()).as(() -> "the service did not become ready:\n" + log()).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    /** SIGTERM: a graceful shutdown. */
    private void stop() throws Exception {
        process.destroy();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("stopped on SIGTERM").isTrue();
        process = null;
    }

    private boolean ready(String url) throws InterruptedException {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        }
    }

    private JsonNode send(String url, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
        if (body != null) {
            b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(url + ": " + r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private String log() {
        try {
            return Files.readString(dir.resolve("service.log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
