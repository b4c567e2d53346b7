package dev.moeadapter.it;

import dev.moeadapter.core.engine.DecodeLane;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.samples.service.MoeAdapterService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.test.context.TestPropertySource;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The service with API keys and a rate limit configured. The plain arm is wrapped to count its
 * generations (it still generates for real), which shows that a refused request generates nothing.
 */
@SpringBootTest(classes = {MoeAdapterService.class, SecurityTest.CountedPlainArm.class},
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {
        "moe.adapter.security.api-keys=" + SecurityTest.KEY_ONE + "," + SecurityTest.KEY_TWO,
        "moe.adapter.security.rate-limit.requests=" + SecurityTest.LIMIT,
        "moe.adapter.security.rate-limit.period=1m",
        "moe.adapter.security.auth-failures.requests=1000",
        "moe.adapter.security.trusted-proxies=127.0.0.1"})
@ExtendWith(OutputCaptureExtension.class)
class SecurityTest extends RunningService {
    static final String KEY_ONE = "it-key-one-4f1c9a";
    static final String KEY_TWO = "it-key-two-77d0b2";
    static final int LIMIT = 20;

    @Autowired
    CountingArm arm;

    @Test
    void withoutTheRightKeyEveryEndpointIs401AndNothingGenerates(CapturedOutput output) throws Exception {
        int before = arm.runs.get();
        String chat = "{\"model\":\"" + MODEL_ID + "\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        List<String[]> credentials = List.of(new String[0],
                new String[]{"Authorization", "Bearer wrong"},
                new String[]{"Authorization", "Bearer "},
                new String[]{"Authorization", "Basic " + KEY_ONE},
                new String[]{"Authorization", "Bearer " + KEY_ONE.toUpperCase()},
                new String[]{"Authorization", "Bearer " + KEY_ONE + "x"},
                new String[]{"Authorization", "Bearer " + KEY_ONE.substring(1)});
        for (String[] credential : credentials) {
            List<HttpResponse<String>> responses = List.of(
                    post("/v1/chat/completions", chat, credential),
                    post("/v1/chat/completions", chat.replace("{", "{\"stream\":true,"), credential),
                    post("/v1/completions", "{\"model\":\"" + MODEL_ID + "\",\"prompt\":\"hi\"}", credential),
                    post("/v1/moe/generate", "{\"prompt\":\"hi\"}", credential),
                    get("/v1/models", credential));
            for (HttpResponse<String> r : responses) {
                assertThat(r.statusCode()).as(r.uri() + " " + String.join(" ", credential)).isEqualTo(401);
                assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
                assertThat(json(r.body()).at("/error/code").asString()).isEqualTo("invalid_api_key");
            }
        }
        assertThat(arm.runs.get()).isEqualTo(before);
        assertThat(output.getAll()).contains("refused POST /v1/chat/completions").doesNotContain(KEY_ONE).doesNotContain(KEY_TWO);
    }

    @Test
    void theOpenAiClientWorksWithTheRightKey() {
        int before = arm.runs.get();
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(MODEL_ID).addUserMessage("hi")
                .maxCompletionTokens(4).build();
        OpenAIClient client = client(KEY_ONE);
        assertThat(client.chat().completions().create(params).choices()).hasSize(1);
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            assertThat(stream.stream().count()).isGreaterThan(2);
        }
        assertThat(client.models().list().data()).hasSize(1);
        client.close();
        assertThat(arm.runs.get()).isEqualTo(before + 2);
        OpenAIClient wrong = client("sk-not-a-key");
        assertThatThrownBy(() -> wrong.chat().completions().create(params)).isInstanceOf(UnauthorizedException.class);
        wrong.close();
        assertThat(arm.runs.get()).isEqualTo(before + 2);
    }

    @Test
    void eachKeyHasItsOwnRateLimit() throws Exception {
        String[] two = {"Authorization", "Bearer " + KEY_TWO};
        for (int i = 0; i < LIMIT; i++) {
            assertThat(get("/v1/models", two).statusCode()).isEqualTo(200);
        }
        HttpResponse<String> limited = get("/v1/models", two);
        assertThat(limited.statusCode()).isEqualTo(429);
        assertThat(limited.headers().firstValue("Retry-After").map(Long::parseLong)).hasValueSatisfying(s -> assertThat(s).isBetween(1L, 60L));
        assertThat(json(limited.body()).at("/error/code").asString()).isEqualTo("rate_limit_exceeded");
        assertThat(get("/v1/models", "Authorization", "Bearer " + KEY_ONE).statusCode()).isEqualTo(200);
        // a caller header names the caller, with its own allowance
        assertThat(get("/v1/models", "Authorization", two[1], "X-Caller-Id", "dave").statusCode()).isEqualTo(200);
    }

    @Test
    void theKeyNamesTheCallerWhenNoCallerHeaderDoes() throws Exception {
        String[] one = {"Authorization", "Bearer " + KEY_ONE};
        assertThat(json(get("/v1/moe/assignment", one).body()).get("basis").asString()).isEqualTo("caller");
        assertThat(json(get("/v1/moe/assignment", one[0], one[1], "X-Caller-Id", "erin").body()).get("basis").asString())
                .isEqualTo("caller");
    }

    @Test
    void healthIsOpenWithoutDetailsAndOtherActuatorEndpointsAreClosed() throws Exception {
        HttpResponse<String> health = get("/actuator/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(json(health.body()).get("status").asString()).isEqualTo("UP");
        assertThat(health.body()).as("no paths, disk sizes or model details unless configured")
                .doesNotContain("components").doesNotContain("details").doesNotContain("diskSpace");
        for (String closed : List.of("/actuator", "/actuator/env", "/actuator/configprops", "/actuator/beans", "/actuator/heapdump", "/actuator/metrics")) {
            assertThat(get(closed).statusCode()).as(closed).isEqualTo(404);
        }
    }

    private OpenAIClient client(String key) {
        return OpenAIOkHttpClient.builder().baseUrl(url("/v1")).apiKey(key).maxRetries(0).timeout(Duration.ofSeconds(60)).build();
    }

    /** The plain arm, counted. */
    static final class CountingArm implements AdaptationStrategy {
        final AtomicInteger runs = new AtomicInteger();
        private final PlainGeneration plain = new PlainGeneration();

        @Override
        public String name() {
            return plain.name();
        }

        @Override
        public int sequencesNeeded() {
            return plain.sequencesNeeded();
        }

        @Override
        public GenerationResult generate(DecodeLane session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
            runs.incrementAndGet();
            return plain.generate(session, request, listener, cancel);
        }
    }

    @TestConfiguration(proxyBeanMethods = false)
    static class CountedPlainArm {
        @Bean
        CountingArm plainGeneration() {
            return new CountingArm();
        }
    }
}
