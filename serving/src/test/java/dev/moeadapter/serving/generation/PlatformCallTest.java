package dev.moeadapter.serving.generation;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PlatformCallTest {
    private final PlatformCall calls = new PlatformCall(2);

    @Test
    void atMostTheBoundRunsAtOnceWhileTheOtherCallersWait() throws Exception {
        java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger(), most = new java.util.concurrent.atomic.AtomicInteger();
        java.util.List<Thread> callers = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            callers.add(Thread.ofVirtual().start(() -> calls.run(() -> {
                most.accumulateAndGet(running.incrementAndGet(), Math::max);
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return running.decrementAndGet();
            })));
        }
        for (Thread t : callers) {
            t.join();
        }
        assertThat(most.get()).isBetween(1, 2);
    }

    @Test
    void aVirtualCallerHasTheCallRunOnAPlatformThreadAndGetsItsResultOrException() throws Exception {
        AtomicReference<Boolean> ranVirtual = new AtomicReference<>();
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread.ofVirtual().start(() -> {
            outcome.set(calls.run(() -> {
                ranVirtual.set(Thread.currentThread().isVirtual());
                return 42;
            }));
            try {
                calls.run(() -> {
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
        assertThat(calls.run(() -> Thread.currentThread() == caller)).isTrue();
        assertThatThrownBy(() -> calls.run(() -> {
            throw new IllegalStateException("x");
        })).isInstanceOf(IllegalStateException.class);
    }
}
