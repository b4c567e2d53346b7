package dev.moeadapter.serving.admission;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Admission is one permit per session; the Retry-After of a refusal follows how long permits are held. */
class AdmissionTest {
    private final Admission admission = new Admission(1, Duration.ofMillis(1));

    private Duration refusedRetryAfter() {
        try (Admission.Permit held = admission.enter()) {
            return catchThrowableOfType(PoolExhaustedException.class, admission::enter).retryAfter();
        }
    }

    @Test
    void retryAfterIsDerivedFromHowLongPermitsAreHeld() {
        assertThat(refusedRetryAfter()).as("before any request: one second").isEqualTo(Duration.ofSeconds(1));
        for (int i = 0; i < 50; i++) {
            admission.enter().close(); // requests that hold their session for next to no time
        }
        assertThat(refusedRetryAfter()).isLessThan(Duration.ofMillis(100));
    }

    @Test
    void aPermitIsReturnedOnceHoweverOftenItIsClosed() {
        Admission.Permit p = admission.enter();
        p.close();
        p.close();
        try (Admission.Permit again = admission.enter()) {
            assertThat(catchThrowableOfType(PoolExhaustedException.class, admission::enter)).as("still one permit").isNotNull();
        }
    }
}
