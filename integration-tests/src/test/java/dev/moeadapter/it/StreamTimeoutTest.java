package dev.moeadapter.it;

import dev.moeadapter.samples.service.MoeAdapterService;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.TestPropertySource;

import java.net.http.HttpResponse;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An answer that outlasts {@code moe.adapter.stream-timeout} ends where it is, on every endpoint, streamed or
 * not, the way one whose time budget ran out does: with the text made so far and its finish reason, never a
 * stream that stops without its end or a body that is no answer. The arm pauses after its first token until
 * it is cancelled, so only the timeout can end it.
 */
@SpringBootTest(classes = {MoeAdapterService.class, TestStrategies.class}, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {
        "moe.adapter.sessions=1", "moe.adapter.stream-timeout=1s", "moe.adapter.stream-keep-alive=300ms",
        "moe.adapter.default-policy=open",
        "moe.adapter.policies.open.allow-override=true",
        "moe.adapter.policies.open.arms.plain.adaptation=none",
        "moe.adapter.policies.open.arms.pausing.adaptation=pausing",
        "moe.adapter.policies.open.arms.pausing.weight=0",
        "moe.adapter.policies.open.arms.pausing.time-budget=5m"})
class StreamTimeoutTest extends RunningService {
    @Autowired
    TestStrategies.Pausing pausing;

    @Test
    void anAnswerThatOutlastsTheStreamTimeoutEndsWhereItIsOnEveryEndpoint() throws Exception {
        String chat = "{\"model\":\"" + MODEL_ID + "\",\"messages\":[{\"role\":\"user\",\"content\":\"REV:abc=cba,bfa=\"}],\"max_tokens\":16,"
                + "\"temperature\":0,\"arm\":\"pausing\"";
        String text = "{\"model\":\"" + MODEL_ID + "\",\"prompt\":\"REV:abc=cba,bfa=\",\"max_tokens\":16,\"temperature\":0,\"arm\":\"pausing\"";
        String nativeBody = "{\"prompt\":\"REV:abc=cba,bfa=\",\"max_tokens\":16,\"arm\":\"pausing\"";
        String response = "{\"model\":\"" + MODEL_ID + "\",\"input\":\"REV:abc=cba,bfa=\",\"max_output_tokens\":16,\"temperature\":0,"
                + "\"arm\":\"pausing\"";
        record Call(String path, String body, String finish) {
        }
        for (Call c : List.of(
                new Call("/v1/moe/generate", nativeBody + "}", "\"finish_reason\":\"time_budget\""),
                new Call("/v1/moe/generate", nativeBody + ",\"stream\":true}", "\"finish_reason\":\"time_budget\""),
                new Call("/v1/chat/completions", chat + "}", "\"finish_reason\":\"length\""),
                new Call("/v1/chat/completions", chat + ",\"stream\":true}", "\"finish_reason\":\"length\""),
                new Call("/v1/completions", text + "}", "\"finish_reason\":\"length\""),
                new Call("/v1/completions", text + ",\"stream\":true}", "\"finish_reason\":\"length\""),
                new Call("/v1/responses", response + "}", "\"status\":\"incomplete\""),
                new Call("/v1/responses", response + ",\"stream\":true}", "response.incomplete"))) {
            pausing.reset();
            long t0 = System.nanoTime();
            HttpResponse<String> r = post(c.path(), c.body());
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertThat(r.statusCode()).as(c.body()).isEqualTo(200);
            assertThat(r.body()).as(c.body()).contains(c.finish()).doesNotContain("\"error\":{");
            assertThat(pausing.sawCancel).as("the pause ended by the timeout").isTrue();
            assertThat(seconds).as("ended at the timeout, not the pause's own minute").isLessThan(30);
            if (c.path().equals("/v1/responses") && c.body().contains("\"stream\":true")) {
                assertThat(r.body()).as("its last event").contains("event: response.incomplete");
            } else if (c.body().contains("\"stream\":true")) {
                assertThat(r.body().strip()).as(c.body()).endsWith("data: [DONE]");
            } else {
                assertThat(json(r.body()).isObject()).as(c.body()).isTrue();
            }
        }
        HttpResponse<String> after = post("/v1/moe/generate", "{\"prompt\":\"REV:abc=cba,bfa=\",\"max_tokens\":4}");
        assertThat(after.statusCode()).as("the session is free again").isEqualTo(200);
    }
}
