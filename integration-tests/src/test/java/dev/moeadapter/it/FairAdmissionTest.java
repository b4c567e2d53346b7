package dev.moeadapter.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.TestPropertySource;
import dev.moeadapter.samples.service.MoeAdapterService;

import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Admission through the real service is fair across callers: with one session, a caller that holds
 * it and queues two more requests does not keep a second caller's request, queued after them, from
 * being served next. Callers are named by the caller header, which a trusted proxy sets.
 */
@SpringBootTest(classes = {MoeAdapterService.class, TestStrategies.class}, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {
        "moe.adapter.sessions=1", "moe.adapter.acquire-timeout=60s",
        "moe.adapter.security.trusted-proxies=127.0.0.1",
        "moe.adapter.default-policy=open",
        "moe.adapter.policies.open.allow-override=true",
        "moe.adapter.policies.open.arms.plain.adaptation=none",
        "moe.adapter.policies.open.arms.pausing.adaptation=pausing",
        "moe.adapter.policies.open.arms.pausing.weight=0",
        "moe.adapter.policies.open.arms.pausing.time-budget=5m",
        "moe.adapter.policies.open.arms.recording.adaptation=recording",
        "moe.adapter.policies.open.arms.recording.weight=0"})
class FairAdmissionTest extends RunningService {
    @Autowired
    TestStrategies.Pausing pausing;

    @Autowired
    TestStrategies.Recording recording;

    @Test
    void anotherCallersRequestIsServedBeforeTheQueuedRestOfABurst() throws Exception {
        pausing.reset();
        recording.started.clear();
        BlockingQueue<Integer> statuses = new LinkedBlockingQueue<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<HttpResponse<String>> holding = pool.submit(() -> post("/v1/moe/generate", generate("pausing", false),
                    "X-Caller-Id", "burst"));
            assertThat(pausing.paused.await(60, TimeUnit.SECONDS)).as("the burst's first request holds the session").isTrue();
            for (String name : List.of("burst-1", "burst-2", "other")) {
                String caller = name.startsWith("burst") ? "burst" : "other";
                long before = admission("waiting");
                String body = "{\"prompt\":\"" + name + "\",\"max_tokens\":4,\"arm\":\"recording\"}";
                pool.submit(() -> statuses.add(post("/v1/moe/generate", body, "X-Caller-Id", caller).statusCode()));
                while (admission("waiting") == before) {
                    Thread.sleep(5); // polls a condition, measures no time
                }
            }
            pausing.release.countDown();
            assertThat(holding.get().statusCode()).isEqualTo(200);
            for (int i = 0; i < 3; i++) {
                assertThat(statuses.poll(60, TimeUnit.SECONDS)).isEqualTo(200);
            }
            List<String> names = List.of("burst-1", "burst-2", "other");
            assertThat(recording.started.stream().map(prompt -> names.stream().filter(prompt::contains).findFirst().orElse(prompt)).toList())
                    .as("the order admission let them in (one session)").containsExactly("other", "burst-1", "burst-2");
        }
    }

    /**
     * A client that closes its connection while its request waits for admission takes its request out
     * of the queue: the request is counted as departed, and when the session comes free it is never
     * started (the next request is).
     */
    @Test
    @Timeout(120) // the waits below poll conditions: a regression fails here instead of hanging the build
    void aClientThatLeavesWhileQueuedLeavesTheQueueAndIsNeverStarted() throws Exception {
        pausing.reset();
        recording.started.clear();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<HttpResponse<String>> holding = pool.submit(() -> post("/v1/moe/generate", generate("pausing", false)));
            assertThat(pausing.paused.await(60, TimeUnit.SECONDS)).as("a request holds the only session").isTrue();
            long departedBefore = admission("departed");
            String body = "{\"prompt\":\"departing\",\"max_tokens\":4,\"arm\":\"recording\"}";
            try (Socket socket = new Socket("localhost", port)) {
                socket.getOutputStream().write(("POST /v1/moe/generate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                while (admission("waiting") == 0) {
                    Thread.sleep(5); // polls a condition, measures no time
                }
            }
            while (admission("waiting") > 0) {
                Thread.sleep(5); // the session is still held: only the departure can empty the queue
            }
            assertThat(admission("departed")).isEqualTo(departedBefore + 1);
            assertThat(admission("in_use")).as("the session is still held").isEqualTo(1);
            pausing.release.countDown();
            assertThat(holding.get().statusCode()).isEqualTo(200);
            assertThat(post("/v1/moe/generate", "{\"prompt\":\"staying\",\"max_tokens\":4,\"arm\":\"recording\"}").statusCode())
                    .isEqualTo(200);
            assertThat(recording.started).as("the departed request never started").noneMatch(p -> p.contains("departing"))
                    .anyMatch(p -> p.contains("staying"));
        }
    }

    private long admission(String figure) throws Exception {
        return json(get("/v1/moe/info").body()).at("/admission/" + figure).asLong();
    }
}
