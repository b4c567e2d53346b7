package dev.moeadapter.it;

import dev.moeadapter.samples.service.MoeAdapterService;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.JsonNode;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each streamed event is flushed as it is made: with a keep-alive of an hour, nothing but the event's
 * own flush can bring it to the client while generation is held after it.
 */
@SpringBootTest(classes = {MoeAdapterService.class, TestStrategies.class}, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {
        "moe.adapter.sessions=1", "moe.adapter.stream-keep-alive=1h",
        "moe.adapter.default-policy=open",
        "moe.adapter.policies.open.allow-override=true",
        "moe.adapter.policies.open.arms.plain.adaptation=none",
        "moe.adapter.policies.open.arms.pausing.adaptation=pausing",
        "moe.adapter.policies.open.arms.pausing.weight=0",
        "moe.adapter.policies.open.arms.pausing.time-budget=5m"})
class StreamFlushTest extends RunningService {
    @Autowired
    TestStrategies.Pausing pausing;

    @BeforeEach
    void armThePausingAdaptation() {
        pausing.reset();
    }

    /** The KV layout when none is configured: one cache per session. */
    String defaultKvLayout() {
        return "unified";
    }

    @Test
    void theKvLayoutIsTheModesDefault() throws Exception {
        assertThat(json(get("/v1/moe/info").body()).at("/capacity/kv_layout").asString()).isEqualTo(defaultKvLayout());
    }

    @Test
    void eachTokenReachesTheClientAsItIsMade() throws Exception {
        try (SseClient client = new SseClient(port, "/v1/moe/generate", generate("pausing", true))) {
            assertThat(client.status).isEqualTo(200);
            JsonNode first = json(client.nextData());
            assertThat(first.get("type").asString()).isEqualTo("token");
            // without a flush per event the bytes would wait for the answer's end: tokens after the held one would exist
            assertThat(pausing.tokensAfterPause.get()).as("tokens made after the first, when the first arrived").isZero();
            assertThat(pausing.release.getCount()).as("the first token arrived while generation is held after it").isEqualTo(1);
            pausing.release.countDown();
            List<String> rest = client.rest();
            assertThat(json(rest.getLast()).get("type").asString()).isEqualTo("done");
        }
        // the OpenAI stream too: its opening chunk and first text before the rest is generated
        pausing.reset();
        String chat = "{\"model\":\"" + MODEL_ID + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":8,"
                + "\"arm\":\"pausing\",\"stream\":true}";
        try (SseClient client = new SseClient(port, "/v1/chat/completions", chat)) {
            assertThat(json(client.nextData()).at("/choices/0/delta/role").asString()).isEqualTo("assistant");
            assertThat(json(client.nextData()).at("/choices/0/delta/content").isString()).isTrue();
            assertThat(pausing.release.getCount()).isEqualTo(1);
            pausing.release.countDown();
            assertThat(client.rest()).isNotEmpty();
        }
    }

}
