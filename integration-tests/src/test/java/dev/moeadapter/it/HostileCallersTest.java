package dev.moeadapter.it;

import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.test.context.TestPropertySource;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client that tries its luck: names a policy it may not, sends whatever caller header suits it,
 * guesses keys. No trusted proxy is configured, so the caller header counts for nothing. The
 * key-guessing test runs last: it leaves this client's address throttled.
 */
@TestPropertySource(properties = {
        "moe.adapter.security.api-keys=" + HostileCallersTest.KEY_A + "," + HostileCallersTest.KEY_B,
        "moe.adapter.security.rate-limit.requests=5", "moe.adapter.security.rate-limit.period=10m",
        "moe.adapter.security.auth-failures.requests=3", "moe.adapter.security.auth-failures.period=10m",
        "moe.adapter.default-policy=main",
        "moe.adapter.policies.main.arms.plain.adaptation=none",
        "moe.adapter.policies.lab.allow-override=true",
        "moe.adapter.policies.lab.arms.plain.adaptation=none",
        "moe.adapter.policies.lab.arms.contrast.adaptation=scmoe"})
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(OutputCaptureExtension.class)
class HostileCallersTest extends RunningService {
    static final String KEY_A = "hostile-it-key-a-51c2";
    static final String KEY_B = "hostile-it-key-b-9e07";

    @Test
    @Order(1)
    void aRequestMayNotReachAPolicyOtherThanTheDefault() throws Exception {
        String[] key = {"Authorization", "Bearer " + KEY_B};
        HttpResponse<String> r = post("/v1/moe/generate", "{\"prompt\":\"a\",\"policy\":\"lab\",\"arm\":\"contrast\"}", key);
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(json(r.body()).at("/error/param").asString()).isEqualTo("policy");
        assertThat(json(r.body()).at("/error/message").asString()).contains("policy 'lab' cannot be named by a request");
        assertThat(get("/v1/moe/assignment?policy=lab", key).statusCode()).isEqualTo(403);
        HttpResponse<String> own = post("/v1/moe/generate", "{\"prompt\":\"a\",\"max_tokens\":2,\"policy\":\"main\"}", key);
        assertThat(own.statusCode()).as(own.body()).isEqualTo(200);
        // with keys configured, a caller with a key may read the policy list
        assertThat(get("/v1/moe/policies", key).statusCode()).isEqualTo(200);
    }

    @Test
    @Order(2)
    void aCallerHeaderFromAnUntrustedAddressDoesNotEscapeTheRateLimit() throws Exception {
        for (int i = 0; i < 5; i++) {
            assertThat(get("/v1/models", "Authorization", "Bearer " + KEY_A, "X-Caller-Id", "rotating-" + i).statusCode()).isEqualTo(200);
        }
        HttpResponse<String> limited = get("/v1/models", "Authorization", "Bearer " + KEY_A, "X-Caller-Id", "rotating-5");
        assertThat(limited.statusCode()).isEqualTo(429);
        assertThat(json(get("/v1/moe/assignment", "Authorization", "Bearer " + KEY_B, "X-Caller-Id", "someone").body())
                .get("basis").asString()).as("the key names the caller, not the header").isEqualTo("caller");
    }

    @Test
    @Order(3)
    void guessedKeysAreThrottledPerAddressAndLoggedSparingly(CapturedOutput output) throws Exception {
        int before = output.getAll().split("refused ", -1).length;
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> wrong = get("/v1/models", "Authorization", "Bearer guess-" + i);
            assertThat(wrong.statusCode()).isEqualTo(401);
        }
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> throttled = get("/v1/models", "Authorization", "Bearer guess-more-" + i);
            assertThat(throttled.statusCode()).isEqualTo(429);
            assertThat(throttled.headers().firstValue("Retry-After")).isPresent();
            assertThat(json(throttled.body()).at("/error/code").asString()).isEqualTo("too_many_failed_authentications");
        }
        assertThat(get("/v1/models", "Authorization", "Bearer " + KEY_A).statusCode())
                .as("while throttled, the address's keys are not even checked").isEqualTo(429);
        int lines = output.getAll().split("refused ", -1).length - before;
        assertThat(lines).as("log lines for 3 failures and 21 refusals in one period").isEqualTo(1);
    }
}
