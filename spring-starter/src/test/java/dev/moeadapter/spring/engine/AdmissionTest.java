package dev.moeadapter.spring.engine;

import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.spring.MoeAdapterProperties;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Admission is one permit per session; the Retry-After of a refusal follows how long permits are held. */
class AdmissionTest {
    private final Guards guards = new Guards(1, Duration.ofMillis(1),
            new MoeAdapterProperties.Guards(Duration.ofSeconds(30), new MoeAdapterProperties.Breaker(50, 20, 5, Duration.ofSeconds(30), 2)),
            List.of(), new PlainGeneration(), new SimpleMeterRegistry());

    private Duration refusedRetryAfter() {
        try (Guards.Permit held = guards.enter()) {
            return catchThrowableOfType(PoolExhaustedException.class, guards::enter).retryAfter();
        }
    }

    @Test
    void retryAfterIsDerivedFromHowLongPermitsAreHeld() {
        assertThat(refusedRetryAfter()).as("before any request: one second").isEqualTo(Duration.ofSeconds(1));
        for (int i = 0; i < 50; i++) {
            guards.enter().close(); // requests that hold their session for next to no time
        }
        assertThat(refusedRetryAfter()).isLessThan(Duration.ofMillis(100));
        guards.close();
    }
}
