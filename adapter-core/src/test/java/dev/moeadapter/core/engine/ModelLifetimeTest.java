package dev.moeadapter.core.engine;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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

    /**
     * A decode loop draws a request's next token with its sampler one token ahead, in its own thread,
     * and the request may close the sampler meanwhile: a draw then finishes before the close frees the
     * chain, or is refused as cancelled after it.
     */
    @Test
    void drawsRacingASamplersCloseFinishOrAreRefusedNeverOnFreedMemory() throws Exception {
        Model model = TestModels.olmoe();
        try (Session session = model.newSession(new SessionParams(64, 8, 2, 1, 1))) {
            int[] prompt = model.tokenize("Once upon a time");
            session.decode(Batch.builder().add(prompt[0], 0, 0, true).add(prompt[0], 0, 1, true).build());
            for (int round = 0; round < 50; round++) {
                Sampler sampler = Sampler.create(model, SamplingParams.temperature(0.8, round));
                CountDownLatch go = new CountDownLatch(1);
                AtomicReference<Throwable> unexpected = new AtomicReference<>();
                Thread drawer = Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < 200; i++) {
                            session.sample(sampler, i % 2);
                            session.pickContrast(sampler, 0, 1, 0.1f, 0.5f);
                        }
                    } catch (CancelledException closed) {
                        // the sampler's generation ended: the expected way to fail
                    } catch (Throwable t) {
                        unexpected.compareAndSet(null, t);
                    }
                });
                go.countDown();
                sampler.close();
                drawer.join();
                assertThat(unexpected.get()).isNull();
                assertThatThrownBy(() -> session.sample(sampler, 0)).isInstanceOf(CancelledException.class);
            }
        }
    }
}
