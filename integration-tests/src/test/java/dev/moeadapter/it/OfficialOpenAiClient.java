package dev.moeadapter.it;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import java.time.Duration;

/**
 * The running service with OpenAI's official Java client pointed at it, unchanged: no retries, and
 * every response checked against OpenAI's schema, so a missing or mistyped field fails the test.
 */
abstract class OfficialOpenAiClient extends RunningService {
    OpenAIClient client;

    @BeforeEach
    void openClient() {
        client = OpenAIOkHttpClient.builder().baseUrl(url("/v1")).apiKey("unused-without-keys").maxRetries(0)
                .timeout(Duration.ofSeconds(60)).responseValidation(true).build();
    }

    @AfterEach
    void closeClient() {
        client.close();
    }
}
