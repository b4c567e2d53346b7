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
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Admission is one permit per session; the Retry-After of a refusal follows how long permits are
 * held; a returned permit goes to the waiting caller that holds the fewest.
 */
class AdmissionTest {
    private final Admission admission = new Admission(1, Duration.ofMillis(1), 8);

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
    void aRequestRefusedAfterItWasLetInCountsAsRefused() {
        try (Admission.Permit in = admission.enter("a")) {
            PoolExhaustedException refusal = admission.refuseAdmitted("the wide session is busy");
            assertThat(refusal).hasMessage("the wide session is busy");
            assertThat(refusal.retryAfter()).isPositive();
        }
        assertThat(admission.stats().refused()).isEqualTo(1);
        assertThat(admission.stats().admitted()).isEqualTo(1);
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
        Admission fair = new Admission(2, Duration.ofMinutes(1), 16);
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
        Admission single = new Admission(1, Duration.ofMinutes(1), 16);
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

    /**
     * A queue of three: "burst" fills it; "other" then takes the place of the burst's latest request,
     * which is refused; a fourth burst request is refused at once (its caller has the most waiting), and
     * so is a second request of "other" while the burst has no more waiting than it. With no waiting
     * allowed, a busy admission refuses at once.
     */
    @Test
    void aFullQueueRefusesTheLatestRequestOfTheCallerWithTheMostWaiting() throws Exception {
        Admission bounded = new Admission(1, Duration.ofMinutes(1), 3);
        Admission.Permit holding = bounded.enter("burst");
        BlockingQueue<String> outcomes = new LinkedBlockingQueue<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 1; i <= 3; i++) {
                String name = "burst-" + i;
                pool.submit(() -> outcomes.add(enterAndClose(bounded, "burst", name)));
                awaitWaiting(bounded, i);
            }
            pool.submit(() -> outcomes.add(enterAndClose(bounded, "other", "other-1")));
            assertThat(outcomes.poll(1, TimeUnit.MINUTES)).as("displaced").isEqualTo("burst-3 refused");
            awaitWaiting(bounded, 3);
            assertThat(enterAndClose(bounded, "burst", "burst-4")).isEqualTo("burst-4 refused");
            assertThat(enterAndClose(bounded, "other", "other-2")).as("the burst has 2 waiting, other 1").isEqualTo("other-2 refused");
            assertThat(bounded.stats().waiting()).isEqualTo(3);
            assertThat(bounded.stats().maxWaiting()).isEqualTo(3);
            holding.close();
            List<String> admitted = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                admitted.add(outcomes.poll(1, TimeUnit.MINUTES));
            }
            assertThat(admitted).containsExactlyInAnyOrder("burst-1 admitted", "burst-2 admitted", "other-1 admitted");
        }
        assertThat(bounded.stats().refused()).isEqualTo(3);
        Admission none = new Admission(1, Duration.ofMinutes(1), 0);
        try (Admission.Permit p = none.enter("a")) {
            assertThat(enterAndClose(none, "b", "b")).isEqualTo("b refused");
        }
    }

    private static String enterAndClose(Admission a, String caller, String name) {
        try (Admission.Permit p = a.enter(caller)) {
            return name + " admitted";
        } catch (PoolExhaustedException e) {
            return name + " refused";
        }
    }

    private static void awaitWaiting(Admission a, int waiting) throws InterruptedException {
        while (a.stats().waiting() < waiting) {
            Thread.sleep(1); // polls a condition, measures no time
        }
    }

    /** A waiting request whose client went away leaves the queue, and the permit goes to the next. */
    @Test
    void aRequestWhoseClientWentAwayLeavesTheQueue() throws Exception {
        Admission one = new Admission(1, Duration.ofMinutes(1), 8);
        AtomicBoolean gone = new AtomicBoolean();
        Admission.Permit held = one.enter("a");
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            var departing = pool.submit(() -> one.enter("b", gone::get));
            var staying = pool.submit(() -> one.enter("c"));
            while (one.stats().waiting() < 2) {
                Thread.sleep(1); // polls a condition, measures no time
            }
            gone.set(true);
            assertThat(catchThrowable(departing::get)).hasCauseInstanceOf(ClientDepartedException.class);
            assertThat(one.stats().waiting()).isEqualTo(1);
            assertThat(one.stats().departed()).isEqualTo(1);
            held.close();
            staying.get().close();
            assertThat(one.stats().admitted()).as("a, then c; never b").isEqualTo(2);
            assertThat(one.stats().inUse()).isZero();
        }
    }

    /** A departure check that fails takes its request out of the queue too: the queue never keeps a request nobody waits on. */
    @Test
    void aDepartureCheckThatFailsTakesItsRequestOutOfTheQueue() {
        Admission one = new Admission(1, Duration.ofMinutes(1), 8);
        try (Admission.Permit held = one.enter("a")) {
            assertThat(catchThrowable(() -> one.enter("b", () -> {
                throw new IllegalStateException("the container failed");
            }))).isInstanceOf(IllegalStateException.class);
            assertThat(one.stats().waiting()).isZero();
        }
        assertThat(one.stats().inUse()).isZero();
    }
}
