package dev.moeadapter.serving.generation;

import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.testmodels.TestModels;
import dev.moeadapter.serving.admission.ClientDepartedException;
import dev.moeadapter.serving.admission.PoolExhaustedException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Only the wide sessions hold every sequence the most demanding arm needs; narrow requests fill the narrow ones first. */
class SessionPoolTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Supplier<RuntimeException> REFUSED = () -> new PoolExhaustedException("the wide session is busy", Duration.ofSeconds(1));

    @Test
    void narrowRequestsTakeNarrowSessionsFirstAndAWideOneWaitsForTheWideSession() throws Exception {
        Model m = TestModels.olmoe();
        // 3 sessions of up to 4 sequences of 256 cells, one of them wide: 1024 + 2 x 512 cells, not 3 x 1024
        try (SessionPool pool = new SessionPool(m, new SessionParams(256 * 4, 32, 4, 1, 1), 3, 1)) {
            assertThat(pool.kvCells()).isEqualTo(1024 + 2 * 512);
            assertThat(pool.wideLanes()).isEqualTo(1);
            assertThat(pool.needsWideLane(2)).isFalse();
            assertThat(pool.needsWideLane(3)).isTrue();
            SessionPool.Lease a = pool.acquire(1, () -> false, WAIT, REFUSED), b = pool.acquire(2, () -> false, WAIT, REFUSED);
            assertThat(((Session) a.lane()).sequences()).as("narrow sessions first").isEqualTo(2);
            assertThat(((Session) b.lane()).sequences()).isEqualTo(2);
            SessionPool.Lease c = pool.acquire(1, () -> false, WAIT, REFUSED);
            assertThat(((Session) c.lane()).sequences()).as("then the wide one").isEqualTo(4);
            assertThat(pool.available()).isZero();

            assertThatThrownBy(() -> pool.acquire(4, () -> true, WAIT, REFUSED)).isInstanceOf(ClientDepartedException.class);
            assertThatThrownBy(() -> pool.acquire(4, () -> false, Duration.ofMillis(50), REFUSED)).as("no longer than admission waits")
                    .isInstanceOf(PoolExhaustedException.class);
            CompletableFuture<SessionPool.Lease> wide = CompletableFuture.supplyAsync(() -> pool.acquire(4, () -> false, WAIT, REFUSED));
            a.close();
            Thread.sleep(300); // a narrow session freed is no use to it
            assertThat(wide).as("a wide request waits for the wide session").isNotDone();
            c.close();
            SessionPool.Lease d = wide.get(10, TimeUnit.SECONDS);
            assertThat(((Session) d.lane()).sequences()).isEqualTo(4);
            d.close();
            b.close();
            assertThat(pool.available()).isEqualTo(3);
        }
    }

    @Test
    void everySessionIsWideWhereNoArmNeedsMoreThanTwoSequences() {
        Model m = TestModels.olmoe();
        try (SessionPool pool = new SessionPool(m, new SessionParams(256 * 2, 32, 2, 1, 1), 2, 1)) {
            assertThat(pool.wideLanes()).isEqualTo(2);
            assertThat(pool.needsWideLane(2)).isFalse();
            assertThat(pool.kvCells()).isEqualTo(2 * 512);
        }
        assertThatThrownBy(() -> new SessionPool(m, new SessionParams(64 * 4, 32, 4, 1, 1), 2, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("wide sessions must lie in 1..2");
    }
}
