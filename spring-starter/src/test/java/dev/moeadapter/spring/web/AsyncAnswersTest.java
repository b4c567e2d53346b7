package dev.moeadapter.spring.web;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

class AsyncAnswersTest {

    /** One answer's write that blocks (a client that stopped reading) holds up neither the timer nor the other answers' writes. */
    @Test
    void aBlockedPeriodicWriteHoldsUpNoOtherAnswersAndIsNotStackedUp() throws Exception {
        try (AsyncAnswers answers = new AsyncAnswers(JsonMapper.shared(), Duration.ofSeconds(15))) {
            CountDownLatch release = new CountDownLatch(1);
            java.util.concurrent.atomic.AtomicInteger blockedRuns = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicInteger otherRuns = new java.util.concurrent.atomic.AtomicInteger();
            Runnable blocked = answers.offTimer(() -> {
                blockedRuns.incrementAndGet();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            Runnable other = answers.offTimer(otherRuns::incrementAndGet);
            // ticks as the one timer thread gives them, until the other answer's write has run five times; a tick
            // that finds the other's last run not quite over (its pool thread between the count and its end) skips it
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            int ticks = 0;
            while (otherRuns.get() < 5 && System.nanoTime() < deadline) {
                blocked.run();
                other.run();
                ticks++;
                Thread.sleep(5);
            }
            assertThat(otherRuns).as("the other answer's write ran while the blocked one was blocked").hasValue(5);
            assertThat(blockedRuns).as("the blocked write was not started again in %d ticks", ticks).hasValue(1);
            release.countDown();
        }
    }

    /**
     * Spring cancels an abandoned asynchronous request's task, which interrupts the thread waiting for
     * the answer: that is a departed client, not a failure to log as a 500, and the work is stopped.
     */
    @Test
    void anInterruptedWaitReturnsQuietlyAndInterruptsTheWork() throws Exception {
        try (AsyncAnswers answers = new AsyncAnswers(JsonMapper.shared(), Duration.ofSeconds(15))) {
            CountDownLatch working = new CountDownLatch(1), stopped = new CountDownLatch(1);
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicBoolean stillInterrupted = new AtomicBoolean();
            Thread waiting = Thread.ofVirtual().start(() -> {
                try {
                    answers.onPlatformThread(() -> {
                        working.countDown();
                        try {
                            Thread.sleep(Duration.ofMinutes(1));
                        } catch (InterruptedException e) {
                            stopped.countDown();
                        }
                    });
                    stillInterrupted.set(Thread.currentThread().isInterrupted());
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            assertThat(working.await(10, TimeUnit.SECONDS)).isTrue();
            waiting.interrupt();
            waiting.join(Duration.ofSeconds(10));
            assertThat(thrown.get()).isNull();
            assertThat(stillInterrupted).as("the interrupt is kept for the container").isTrue();
            assertThat(stopped.await(10, TimeUnit.SECONDS)).as("the work was interrupted").isTrue();
        }
    }
}
