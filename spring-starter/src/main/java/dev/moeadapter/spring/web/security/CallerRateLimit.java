package dev.moeadapter.spring.web.security;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.moeadapter.spring.MoeAdapterProperties;
import dev.moeadapter.spring.web.ApiErrors;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import io.github.resilience4j.ratelimiter.internal.AtomicRateLimiter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * At most {@code requests} per {@code period} for each caller (a Resilience4j {@link RateLimiter}
 * per caller); over it, 429 with Retry-After. The caller is the {@link CallerIdentity} (hashed, so
 * its values cost bounded memory; a caller header counts only from a trusted proxy), else the
 * client's address. Limiters of callers not seen for a while are dropped, and at most
 * {@link #MAX_CALLERS} are kept.
 */
public class CallerRateLimit extends OncePerRequestFilter {
    static final int MAX_CALLERS = 100_000;

    private static final Logger LOG = LoggerFactory.getLogger(CallerRateLimit.class);

    private final RateLimiterConfig config;
    private final CallerIdentity callers;
    private final Cache<String, RateLimiter> limiters;

    public CallerRateLimit(MoeAdapterProperties.RateLimit settings, CallerIdentity callers) {
        this.config = RateLimiterConfig.custom().limitForPeriod(settings.requests()).limitRefreshPeriod(settings.period())
                .timeoutDuration(Duration.ZERO).build();
        this.callers = callers;
        Duration idle = settings.period().compareTo(Duration.ofMinutes(1)) > 0 ? settings.period().multipliedBy(2) : Duration.ofMinutes(2);
        this.limiters = Caffeine.newBuilder().maximumSize(MAX_CALLERS).expireAfterAccess(idle).build();
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String caller = callers.key(request);
        RateLimiter limiter = limiters.get(caller, name -> RateLimiter.of(name, config));
        if (!limiter.acquirePermission()) {
            long retryAfter = retryAfterSeconds(limiter);
            LOG.debug("rate limit: refused {} {} from {}", request.getMethod(), request.getRequestURI(), caller);
            response.setHeader(HttpHeaders.RETRY_AFTER, Long.toString(retryAfter));
            ApiErrors.write(response, HttpStatus.TOO_MANY_REQUESTS, "requests", "rate_limit_exceeded",
                    "rate limit of " + config.getLimitForPeriod() + " requests per " + config.getLimitRefreshPeriod()
                            + " reached; retry after " + retryAfter + " s");
            return;
        }
        chain.doFilter(request, response);
    }

    private long retryAfterSeconds(RateLimiter limiter) {
        long nanos = limiter instanceof AtomicRateLimiter atomic
                ? atomic.getDetailedMetrics().getNanosToWait()
                : config.getLimitRefreshPeriod().toNanos();
        return Math.max(1, TimeUnit.NANOSECONDS.toSeconds(nanos + TimeUnit.SECONDS.toNanos(1) - 1));
    }
}
