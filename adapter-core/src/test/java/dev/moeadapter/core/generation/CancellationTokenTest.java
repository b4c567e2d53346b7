package dev.moeadapter.core.generation;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

class CancellationTokenTest {

    @Test
    void aCheckedTokenRunsItsCheckWhenAskedUntilTheCheckCancelsIt() {
        AtomicInteger checks = new AtomicInteger();
        AtomicReference<CancellationToken> self = new AtomicReference<>();
        CancellationToken token = new CancellationToken(() -> {
            if (checks.incrementAndGet() == 3) {
                self.get().cancel(); // e.g. a probe write that found the client gone
            }
        });
        self.set(token);
        CancellationToken attempt = token.child();

        assertThat(token.isCancelled()).isFalse();
        assertThat(attempt.isCancelled()).as("a child asks its parent, which runs the check").isFalse();
        assertThat(attempt.isCancelled()).isTrue();
        assertThat(token.isCancelled()).isTrue();
        assertThat(checks.get()).as("no check once cancelled").isEqualTo(3);
    }

    @Test
    void aChildCancelledAloneLeavesItsParentGoing() {
        CancellationToken parent = new CancellationToken(), child = parent.child();
        child.cancel();
        assertThat(child.isCancelled()).isTrue();
        assertThat(parent.isCancelled()).isFalse();
    }
}
