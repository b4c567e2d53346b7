package dev.moeadapter.it;

import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link BatchedServiceTest} on a model with sliding-window attention layers (the random-weight
 * gpt-oss fixture, a window of 64), whose cells llama.cpp gives to new tokens once they leave a
 * sequence's window, so a kept prompt is shared only whole (the engine refuses a partial copy:
 * {@code ArchitectureMatrixTest}): prompts that share a kept prompt's prefix keep answering.
 */
class SlidingWindowBatchedServiceTest extends BatchedServiceTest {
    @DynamicPropertySource
    static void slidingWindowModel(DynamicPropertyRegistry r) {
        r.add("it.model", () -> TestModels.file(RandomModels.Spec.gptOss()).toString());
    }

    @Test
    void theServiceReportsASlidingWindowMemory() throws Exception {
        assertThat(json(get("/v1/moe/info").body()).at("/memory").asString()).isEqualTo("sliding_window");
    }

    @Test
    void promptsSharingAKeptPromptsPrefixKeepAnswering() throws Exception {
        String plain = "{\"prompt\":\"abc def ghi\",\"max_tokens\":10,\"arm\":\"none\"}";
        String chat = "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"Hello\"}],"
                + "\"max_tokens\":10,\"arm\":\"scmoe\"}";
        String contrast = "{\"prompt\":\"abc def ghi\",\"max_tokens\":10,\"arm\":\"scmoe\"}";
        for (String body : new String[] {"{\"prompt\":\"Hello world\",\"max_tokens\":12,\"arm\":\"none\"}", plain, chat, chat, contrast,
                contrast, plain}) {
            HttpResponse<String> r = post("/v1/moe/generate", body);
            assertThat(r.statusCode()).as(body + " -> " + r.body()).isEqualTo(200);
        }
    }
}
