package dev.moeadapter.it;

import dev.moeadapter.samples.service.MoeAdapterService;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.TestPropertySource;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code moe.adapter.whole-answer-probe=none}: a whole answer is written when it is done, as OpenAI's
 * are, so a failure after its first token has its own status instead of being the body of a 200; the
 * OpenAI-compatible endpoints answer so by default ({@code StreamsAndBudgetsTest}).
 */
@SpringBootTest(classes = {MoeAdapterService.class, TestStrategies.class}, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {
        "moe.adapter.whole-answer-probe=none",
        "moe.adapter.default-policy=open",
        "moe.adapter.policies.open.allow-override=true",
        "moe.adapter.policies.open.arms.plain.adaptation=none",
        "moe.adapter.policies.open.arms.late.adaptation=late-failing",
        "moe.adapter.policies.open.arms.late.weight=0"})
class WholeAnswerWithoutProbeTest extends RunningService {

    @Test
    void aLateFailureHasItsOwnStatusAndAnAnswerStartsWithItsJson() throws Exception {
        HttpResponse<String> late = post("/v1/moe/generate", generate("late", false));
        assertThat(late.statusCode()).isEqualTo(500);
        assertThat(json(late.body()).at("/error/type").asString()).isEqualTo("server_error");
        String chat = "{\"model\":\"" + MODEL_ID + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":8,\"arm\":\"late\"}";
        assertThat(post("/v1/chat/completions", chat).statusCode()).isEqualTo(500);

        HttpResponse<String> plain = post("/v1/moe/generate", generate("plain", false));
        assertThat(plain.statusCode()).isEqualTo(200);
        assertThat(plain.body()).as("no spaces before the answer").startsWith("{");
        assertThat(json(plain.body()).get("text").asString()).isNotEmpty();
    }
}
