package dev.moeadapter.it;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** Without API keys the rate limit counts per caller header (moe.adapter.caller-header) from a trusted proxy, else per client address. */
@TestPropertySource(properties = {
        "moe.adapter.security.rate-limit.requests=3",
        "moe.adapter.security.rate-limit.period=1m",
        "moe.adapter.caller-header=X-Caller",
        "moe.adapter.security.trusted-proxies=127.0.0.1"})
class CallerRateLimitTest extends RunningService {
    @Test
    void eachCallerGetsItsOwnAllowance() throws Exception {
        for (String caller : new String[]{"alice", "bob"}) {
            for (int i = 0; i < 3; i++) {
                assertThat(get("/v1/models", "X-Caller", caller).statusCode()).isEqualTo(200);
            }
            HttpResponse<String> limited = get("/v1/models", "X-Caller", caller);
            assertThat(limited.statusCode()).isEqualTo(429);
            assertThat(limited.headers().firstValue("Retry-After")).isPresent();
        }
        for (int i = 0; i < 3; i++) {
            assertThat(get("/v1/models").statusCode()).isEqualTo(200); // by address
        }
        assertThat(get("/v1/models").statusCode()).isEqualTo(429);
        assertThat(get("/v1/models", "X-Caller", "carol").statusCode()).isEqualTo(200);
        assertThat(get("/actuator/health").statusCode()).isEqualTo(200); // only /v1 is limited
        // the header the rate limit counts by is the one that keeps a caller on one arm
        assertThat(json(get("/v1/moe/assignment", "X-Caller", "erin").body()).get("basis").asString()).isEqualTo("caller");
    }
}
