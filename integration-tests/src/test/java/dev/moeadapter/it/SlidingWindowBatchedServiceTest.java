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
 * gpt-oss fixture, a window of 64) and a context of 512, on one KV cache. llama.cpp gives a
 * sequence's cells in those layers to new tokens once they leave its window, so a kept prompt is
 * shared only whole: a request that shared a kept prompt's prefix (a partial copy) once found its
 * sequence empty and failed, as did every later request with that prompt.
 */
class SlidingWindowBatchedServiceTest extends BatchedServiceTest {
    private static final String GPT_OSS = TestModels.file(RandomModels.Spec.gptOss()).getFileName().toString().replace(".gguf", "");

    @DynamicPropertySource
    static void slidingWindowModel(DynamicPropertyRegistry r) {
        r.add("it.model", () -> TestModels.file(RandomModels.Spec.gptOss()).toString());
        r.add("moe.adapter.context-size", () -> "512"); // kept prompts outlive the 64-token window's cells
    }

    @Test
    void theServiceReportsASlidingWindowMemory() throws Exception {
        assertThat(json(get("/v1/moe/info").body()).at("/memory").asString()).isEqualTo("sliding_window");
    }

    @Test
    void promptsSharingAKeptPromptsPrefixKeepAnswering() throws Exception {
        String chat = "{\"model\":\"m\",\"max_tokens\":10,\"temperature\":0,\"arm\":\"scmoe\",\"messages\":[{\"role\":\"system\","
                + "\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"Hello\"}]}";
        String contrast = "{\"model\":\"m\",\"max_tokens\":10,\"temperature\":0,\"arm\":\"scmoe\",\"prompt\":\"abc def ghi\"}";
        String[][] requests = {
                {"/v1/moe/generate", "{\"prompt\":\"Hello world\",\"max_tokens\":12,\"arm\":\"none\"}"},
                {"/v1/completions", "{\"model\":\"m\",\"max_tokens\":10,\"temperature\":0,\"arm\":\"none\",\"prompt\":\"abc def ghi\","
                        + "\"routing_trace\":{\"probabilities\":[1]}}"},
                {"/v1/chat/completions", chat}, {"/v1/chat/completions", chat}, {"/v1/completions", contrast}, {"/v1/completions", contrast}};
        for (String[] request : requests) {
            HttpResponse<String> r = post(request[0], request[1].replace("\"m\"", "\"" + GPT_OSS + "\""));
            assertThat(r.statusCode()).as(request[1] + " -> " + r.body()).isEqualTo(200);
            assertThat(r.body()).as(request[1]).doesNotContain("\"error\"");
        }
    }
}
