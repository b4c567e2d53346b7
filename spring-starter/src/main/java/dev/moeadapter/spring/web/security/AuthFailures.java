package dev.moeadapter.spring.web.security;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.moeadapter.spring.MoeAdapterProperties;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Failed authentications per client address: an address that used up its allowance is refused
 * (429) without its key being checked until the period turns, so keys cannot be guessed at speed.
 * Refusals are logged at most once per period, with how many went unlogged, so that a flood of bad
 * keys does not flood the log.
 */
final class AuthFailures {
    private static final Logger LOG = LoggerFactory.getLogger(ApiKeyAuthentication.class);
    private static final int MAX_ADDRESSES = 100_000;

    private final RateLimiterConfig config;
    private final Cache<String, RateLimiter> byAddress;
    private final RateLimiter logLines;
    private final AtomicLong unlogged = new AtomicLong();

    AuthFailures(MoeAdapterProperties.AuthFailures settings) {
        this.config = RateLimiterConfig.custom().limitForPeriod(settings.requests()).limitRefreshPeriod(settings.period())
                .timeoutDuration(Duration.ZERO).build();
        this.byAddress = Caffeine.newBuilder().maximumSize(MAX_ADDRESSES).expireAfterAccess(settings.period().multipliedBy(2)).build();
        this.logLines = RateLimiter.of("moe-auth-failure-log", RateLimiterConfig.custom().limitForPeriod(1)
                .limitRefreshPeriod(settings.period()).timeoutDuration(Duration.ZERO).build());
    }

    /** Whether {@code address} has used up its failures for this period. */
    boolean throttled(String address) {
        RateLimiter limiter = byAddress.getIfPresent(address);
        return limiter != null && limiter.getMetrics().getAvailablePermissions() <= 0;
    }

    /** Counts a failure of {@code address} and logs it, or counts it towards the next log line. */
    void failed(String address, String method, String uri, String reason) {
        byAddress.get(address, a -> RateLimiter.of(a, config)).acquirePermission();
        log(address, method, uri, reason);
    }

    /** Logs a refusal, or counts it towards the next log line when one was logged this period. */
    void log(String address, String method, String uri, String reason) {
        if (logLines.acquirePermission()) {
            long more = unlogged.getAndSet(0);
            LOG.info("refused {} {} from {}: {}{}", method, uri, address, reason,
                    more == 0 ? "" : " (and " + more + " more refusals since the last line)");
        } else {
            unlogged.incrementAndGet();
        }
    }

    /** The period's length, for Retry-After. */
    Duration period() {
        return config.getLimitRefreshPeriod();
    }
}
