package dev.moeadapter.serving.guard;

import java.time.Duration;

/**
 * The circuit breaker of each adapting arm: over the last {@code window} calls (once there were
 * {@code minimumCalls}), a failure rate at or above {@code failureRate} percent opens it for
 * {@code waitInOpen}; then {@code halfOpenCalls} trial calls decide whether it closes again.
 */
public record BreakerSettings(float failureRate, int window, int minimumCalls, Duration waitInOpen, int halfOpenCalls) {
    public static final BreakerSettings DEFAULTS = new BreakerSettings(50, 20, 5, Duration.ofSeconds(30), 2);
}
