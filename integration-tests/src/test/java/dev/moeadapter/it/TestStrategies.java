package dev.moeadapter.it;

import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.adaptation.RoutingViews;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.FinishReason;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.TokenListener;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** Adaptations that misbehave on purpose, to drive the guards: registered like any method module's. */
@TestConfiguration(proxyBeanMethods = false)
class TestStrategies {
    @Bean
    Slow slowStrategy() {
        return new Slow();
    }

    @Bean
    Flaky flakyStrategy() {
        return new Flaky();
    }

    /** Works until it is cancelled (at most a minute), producing nothing. */
    static final class Slow implements AdaptationStrategy {
        final AtomicLong stoppedAfterNanos = new AtomicLong(-1);

        @Override
        public String name() {
            return "slow";
        }

        @Override
        public int sequencesNeeded() {
            return 1;
        }

        @Override
        public GenerationResult generate(Session session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
            long t0 = System.nanoTime();
            while (!cancel.isCancelled() && System.nanoTime() - t0 < 60_000_000_000L) {
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            stoppedAfterNanos.set(System.nanoTime() - t0);
            return new GenerationResult("", new int[0], request.prompt().length, FinishReason.CANCELLED, 0, 0);
        }
    }

    /** Fails before its first token while {@link #failing} is set; otherwise generates plainly. */
    static final class Flaky implements AdaptationStrategy {
        volatile boolean failing = true;
        final AtomicInteger calls = new AtomicInteger();
        private final PlainGeneration plain = new PlainGeneration();

        @Override
        public String name() {
            return "flaky";
        }

        @Override
        public int sequencesNeeded() {
            return 1;
        }

        @Override
        public RoutingViews routingViews() {
            return new RoutingViews.Unchanged();
        }

        @Override
        public GenerationResult generate(Session session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
            calls.incrementAndGet();
            if (failing) {
                throw new IllegalStateException("flaky adaptation failed");
            }
            return plain.generate(session, request, listener, cancel);
        }
    }
}
