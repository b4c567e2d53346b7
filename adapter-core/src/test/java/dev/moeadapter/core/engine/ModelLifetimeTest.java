package dev.moeadapter.core.engine;

import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Closing a model or a session while other threads still call it: the calls either finish or fail
 * with "closed", and none reaches llama.cpp after the memory is freed (which would crash the JVM or
 * corrupt it, not fail a test: the test is that the run survives and every failure is the typed one).
 */
class ModelLifetimeTest {

    @Test
    void callsRacingCloseFinishOrFailAsClosedNeverOnFreedMemory() throws Exception {
        for (int round = 0; round < 20; round++) {
            Model model = Model.load(ModelParams.of(TestModels.file(RandomModels.Spec.olmoe())));
            Session session = model.newSession(new SessionParams(64, 8, 1, 1, 1));
            CountDownLatch go = new CountDownLatch(1);
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            List<Thread> callers = new ArrayList<>();
            for (Runnable call : List.<Runnable>of(
                    () -> model.tokenize("a text to tokenize while the model closes", true, false),
                    () -> model.isEndOfGeneration(3),
                    () -> model.tokenBytes(3, false),
                    () -> model.metadata("general.architecture"),
                    session::abortDecode,
                    session::clearAbort,
                    () -> model.newSession(new SessionParams(64, 8, 1, 1, 1)).close())) {
                callers.add(Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < 500; i++) {
                            call.run();
                        }
                    } catch (IllegalStateException closed) {
                        // the model (or session) is closed: the expected way to fail
                    } catch (Throwable t) {
                        unexpected.compareAndSet(null, t);
                    }
                }));
            }
            go.countDown();
            model.close(); // closes its sessions too
            for (Thread t : callers) {
                t.join();
            }
            assertThat(unexpected.get()).isNull();
        }
    }
}
