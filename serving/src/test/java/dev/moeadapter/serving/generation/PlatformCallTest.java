package dev.moeadapter.serving.generation;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PlatformCallTest {

    @Test
    void aVirtualCallerHasTheCallRunOnAPlatformThreadAndGetsItsResultOrException() throws Exception {
        AtomicReference<Boolean> ranVirtual = new AtomicReference<>();
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread.ofVirtual().start(() -> {
            outcome.set(PlatformCall.run(() -> {
                ranVirtual.set(Thread.currentThread().isVirtual());
                return 42;
            }));
            try {
                PlatformCall.run(() -> {
                    throw new IllegalArgumentException("bad prompt");
                });
            } catch (IllegalArgumentException e) {
                outcome.set(outcome.get() + " " + e.getMessage());
            }
        }).join();
        assertThat(ranVirtual.get()).isFalse();
        assertThat(outcome.get()).isEqualTo("42 bad prompt");
    }

    @Test
    void aPlatformCallerRunsTheCallItself() {
        Thread caller = Thread.currentThread();
        assertThat(PlatformCall.run(() -> Thread.currentThread() == caller)).isTrue();
        assertThatThrownBy(() -> PlatformCall.run(() -> {
            throw new IllegalStateException("x");
        })).isInstanceOf(IllegalStateException.class);
    }
}
