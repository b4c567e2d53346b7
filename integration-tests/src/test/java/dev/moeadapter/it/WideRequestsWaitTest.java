package dev.moeadapter.it;

import dev.moeadapter.samples.service.MoeAdapterService;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Only the wide sessions (or, with continuous batching, lanes) hold more than two sequences, each of
 * whose KV cells are allocated at start. A second request whose arm needs a wide one waits in the
 * wide queue while the first holds the only one, and answers once it is free; a plain request
 * meanwhile takes another session or lane at once. Subclasses name the mode and its free sequences
 * (-1: not counted).
 */
@SpringBootTest(classes = {MoeAdapterService.class, TestStrategies.class}, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {
        "moe.adapter.acquire-timeout=60s",
        "moe.adapter.default-policy=open",
        "moe.adapter.policies.open.allow-override=true",
        "moe.adapter.policies.open.arms.plain.adaptation=none",
        "moe.adapter.policies.open.arms.wide.adaptation=wide-pausing",
        "moe.adapter.policies.open.arms.wide.weight=0",
        "moe.adapter.policies.open.arms.wide.time-budget=5m",
        "management.endpoints.web.exposure.include=health,prometheus"})
abstract class WideRequestsWaitTest extends RunningService {
    @Autowired
    @Qualifier("widePausingStrategy")
    TestStrategies.Pausing wide;

    abstract int laneSequences();

    private static final String WIDE = "{\"prompt\":\"REV:abc=cba,bfa=\",\"max_tokens\":8,\"arm\":\"wide\"}";

    @Test
    void aSecondWideRequestWaitsForTheWideLaneWhilePlainOnesGoOn() throws Exception {
        JsonNode start = info();
        assertThat(start.at("/capacity/wide_sessions").asInt()).isEqualTo(1);
        assertThat(start.at("/capacity/sequences_per_session").asInt()).as("the wide arm's").isEqualTo(3);
        wide.reset();
        CompletableFuture<HttpResponse<String>> first = CompletableFuture.supplyAsync(() -> generateNow(WIDE));
        assertThat(wide.paused.await(60, TimeUnit.SECONDS)).as("the first wide request holds the wide lane").isTrue();
        CompletableFuture<HttpResponse<String>> second = CompletableFuture.supplyAsync(() -> generateNow(WIDE));
        JsonNode waiting = awaitInfo(i -> i.at("/wide_admission/waiting").asInt() == 1);
        assertThat(waiting.at("/wide_admission/waiting").asInt()).as("the second wide request in the wide lanes' queue").isEqualTo(1);
        assertThat(waiting.at("/wide_admission/in_use").asInt()).isEqualTo(1);
        assertThat(waiting.at("/admission/in_use").asInt()).as("the waiting one holds no lane").isEqualTo(1);
        assertThat(get("/actuator/prometheus").body()).contains("moe_adapter_admission_wide_queue 1.0", "moe_adapter_admission_wide_in_use 1.0");

        HttpResponse<String> plain = post("/v1/moe/generate", "{\"prompt\":\"REV:abc=cba,bfa=\",\"max_tokens\":4,\"arm\":\"plain\"}");
        assertThat(plain.statusCode()).as("a plain request takes a free lane meanwhile: %s", plain.body()).isEqualTo(200);
        assertThat(second).as("the second wide request still waits").isNotDone();

        wide.release.countDown();
        for (CompletableFuture<HttpResponse<String>> f : List.of(first, second)) {
            HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(json(r.body()).get("fallback").isNull()).as(r.body()).isTrue();
        }
        JsonNode end = info();
        assertThat(end.at("/wide_admission/admitted").asLong() - start.at("/wide_admission/admitted").asLong()).isEqualTo(2);
        assertThat(end.at("/wide_admission/in_use").asInt()).isZero();
        if (laneSequences() >= 0) {
            assertThat(end.at("/batching/free_sequences").asInt()).as("every lane given back").isEqualTo(laneSequences());
        }
    }
}
