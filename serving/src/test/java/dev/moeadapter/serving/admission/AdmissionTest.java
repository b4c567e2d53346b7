package dev.moeadapter.serving.admission;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Admission is one permit per session; the Retry-After of a refusal follows how long permits are
 * held; a returned permit goes to the waiting caller that holds the fewest.
 */
class AdmissionTest {
    private final Admission admission = new Admission(1, Duration.ofMillis(1));

    private Duration refusedRetryAfter() {
        try (Admission.Permit held = admission.enter("a")) {
            return catchThrowableOfType(PoolExhaustedException.class, () -> admission.enter("b")).retryAfter();
        }
    }

    @Test
    void retryAfterIsDerivedFromHowLongPermitsAreHeld() {
        assertThat(refusedRetryAfter()).as("before any request: one second").isEqualTo(Duration.ofSeconds(1));
        for (int i = 0; i < 50; i++) {
            admission.enter(null).close(); // requests that hold their session for next to no time
        }
        assertThat(refusedRetryAfter()).isLessThan(Duration.ofMillis(100));
        assertThat(admission.stats().refused()).isEqualTo(2);
        assertThat(admission.stats().admitted()).isEqualTo(52);
    }

    @Test
    void aPermitIsReturnedOnceHoweverOftenItIsClosed() {
        Admission.Permit p = admission.enter(null);
        p.close();
        p.close();
        try (Admission.Permit again = admission.enter(null)) {
            assertThat(catchThrowableOfType(PoolExhaustedException.class, () -> admission.enter(null))).as("still one permit").isNotNull();
        }
    }

    /**
     * Caller "burst" holds both permits and queues six more requests before caller "other" queues
     * one: the first permit returned goes to "other", ahead of the burst's earlier requests, and the
     * burst's own requests still all get in, in their order.
     */
    @Test
    void oneCallersBurstCannotKeepAnotherCallerWaitingBehindIt() throws Exception {
        Admission fair = new Admission(2, Duration.ofMinutes(1));
        BlockingQueue<String> admitted = new LinkedBlockingQueue<>();
        List<Admission.Permit> held = new ArrayList<>(List.of(fair.enter("burst"), fair.enter("burst")));
        BlockingQueue<Admission.Permit> permits = new LinkedBlockingQueue<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 6; i++) {
                String name = "burst-" + i;
                pool.submit(() -> {
                    permits.add(fair.enter("burst"));
                    admitted.add(name);
                });
                awaitWaiting(fair, i + 1); // queued in this order
            }
            pool.submit(() -> {
                permits.add(fair.enter("other"));
                admitted.add("other");
            });
            awaitWaiting(fair, 7);
            held.removeFirst().close();
            assertThat(admitted.poll(1, TimeUnit.MINUTES)).isEqualTo("other");
            held.removeFirst().close();
            List<String> order = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                String next = admitted.poll(1, TimeUnit.MINUTES);
                order.add(next);
                permits.take().close();
            }
            assertThat(order).containsExactly("burst-0", "burst-1", "burst-2", "burst-3", "burst-4", "burst-5");
            permits.take().close();
        }
        Admission.Stats stats = fair.stats();
        assertThat(stats.inUse()).isZero();
        assertThat(stats.waiting()).isZero();
        assertThat(stats.admitted()).isEqualTo(9);
    }

    /**
     * One permit: when the burst's request returns it, the burst holds none, as "other" does; the
     * permit goes to "other", served less recently, although the burst's next request waited longer.
     */
    @Test
    void withOnePermitTheCallerServedLeastRecentlyGoesFirst() throws Exception {
        Admission single = new Admission(1, Duration.ofMinutes(1));
        Admission.Permit holding = single.enter("burst");
        BlockingQueue<String> admitted = new LinkedBlockingQueue<>();
        BlockingQueue<Admission.Permit> permits = new LinkedBlockingQueue<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            int queued = 0;
            for (String name : List.of("burst-1", "burst-2", "other")) {
                String caller = name.startsWith("burst") ? "burst" : "other";
                pool.submit(() -> {
                    permits.add(single.enter(caller));
                    admitted.add(name);
                });
                awaitWaiting(single, ++queued);
            }
            holding.close();
            List<String> order = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                order.add(admitted.poll(1, TimeUnit.MINUTES));
                permits.take().close();
            }
            assertThat(order).containsExactly("other", "burst-1", "burst-2");
        }
        assertThat(single.stats().inUse()).isZero();
    }

    private static void awaitWaiting(Admission a, int waiting) throws InterruptedException {
        while (a.stats().waiting() < waiting) {
            Thread.sleep(1); // polls a condition, measures no time
        }
    }
}
