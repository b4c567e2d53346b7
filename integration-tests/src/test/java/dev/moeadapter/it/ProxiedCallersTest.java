package dev.moeadapter.it;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Behind a trusted proxy every request comes from the proxy's address: failed authentications are
 * counted per client address the proxy forwards, so one key-guesser does not lock every client out.
 */
@TestPropertySource(properties = {
        "moe.adapter.security.api-keys=" + ProxiedCallersTest.KEY,
        "moe.adapter.security.auth-failures.requests=3", "moe.adapter.security.auth-failures.period=10m",
        "moe.adapter.security.trusted-proxies=127.0.0.1"})
class ProxiedCallersTest extends RunningService {
    static final String KEY = "proxied-it-key-7a31";

    @Test
    void aKeyGuesserBehindTheProxyIsThrottledAloneAndForgedEarlierHopsDoNotHelpIt() throws Exception {
        String guesser = "198.51.100.7", other = "198.51.100.8";
        for (int i = 0; i < 3; i++) {
            assertThat(get("/v1/models", "Authorization", "Bearer wrong-" + i, "X-Forwarded-For", guesser).statusCode()).isEqualTo(401);
        }
        HttpResponse<String> throttled = get("/v1/models", "Authorization", "Bearer " + KEY, "X-Forwarded-For", guesser);
        assertThat(throttled.statusCode()).isEqualTo(429);
        assertThat(throttled.headers().firstValue("Retry-After")).isPresent();
        // a hop the guesser writes itself comes first; the proxy's own entry, the last one, counts
        assertThat(get("/v1/models", "Authorization", "Bearer " + KEY, "X-Forwarded-For", other + ", " + guesser).statusCode())
                .isEqualTo(429);
        assertThat(get("/v1/models", "Authorization", "Bearer " + KEY, "X-Forwarded-For", guesser + ", " + other).statusCode())
                .isEqualTo(200);
        assertThat(get("/v1/models", "Authorization", "Bearer " + KEY, "X-Forwarded-For", other).statusCode()).isEqualTo(200);
        assertThat(get("/v1/models", "Authorization", "Bearer " + KEY).statusCode()).as("the proxy's own address").isEqualTo(200);
    }
}
