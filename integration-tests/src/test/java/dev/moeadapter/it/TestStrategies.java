package dev.moeadapter.it;

import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.adaptation.RoutingViews;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.FinishReason;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.TokenListener;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
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

    @Bean
    @Primary
    Pausing pausingStrategy() {
        return new Pausing("pausing", 1);
    }

    /** A pausing arm that needs a wide lane of the decode loop, as rerouting does. */
    @Bean
    Pausing widePausingStrategy() {
        return new Pausing("wide-pausing", 3);
    }

    @Bean
    Refusing refusingStrategy() {
        return new Refusing();
    }

    @Bean
    Crashing crashingStrategy() {
        return new Crashing();
    }

    @Bean
    Dripping drippingStrategy() {
        return new Dripping("dripping", false);
    }

    @Bean
    Dripping textlessStrategy() {
        return new Dripping("textless", true);
    }

    @Bean
    LateFailing lateFailingStrategy() {
        return new LateFailing();
    }

    @Bean
    Recording recordingStrategy() {
        return new Recording();
    }

    /**
     * Plain generation that records, in the service, the order in which requests began: with one
     * session, the order in which admission let them in (a client may receive their answers in
     * another order).
     */
    static final class Recording implements AdaptationStrategy {
        private final PlainGeneration plain = new PlainGeneration();
        final List<String> started = new CopyOnWriteArrayList<>();

        @Override
        public String name() {
            return "recording";
        }

        @Override
        public int sequencesNeeded() {
            return 1;
        }

        @Override
        public GenerationResult generate(DecodeLane session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
            started.add(session.model().detokenize(request.prompt()));
            return plain.generate(session, request, listener, cancel);
        }
    }

    /**
     * Plain generation that never stops decoding for long: 200 ms between tokens, so that
     * a client can leave while tokens flow. Counts the tokens it made.
     */
    static final class Dripping implements AdaptationStrategy {
        private final PlainGeneration plain = new PlainGeneration();
        private final String name;
        private final boolean textlessAfterThird;
        final AtomicInteger tokens = new AtomicInteger();
        volatile CountDownLatch third = new CountDownLatch(3);
        volatile CountDownLatch finished = new CountDownLatch(1);
        volatile GenerationResult result;

        /**
         * {@code textlessAfterThird}: after its third token no token reaches the service's listener, as
         * for tokens that complete no character, so that only the generator's questions can find a
         * client that left.
         */
        Dripping(String name, boolean textlessAfterThird) {
            this.name = name;
            this.textlessAfterThird = textlessAfterThird;
        }

        void reset() {
            result = null;
            tokens.set(0);
            third = new CountDownLatch(3);
            finished = new CountDownLatch(1);
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public int sequencesNeeded() {
            return 1;
        }

        @Override
        public GenerationResult generate(DecodeLane lane, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
            try {
                // counts tokens, not calls: the text a cancelled answer still held back (the start of a
                // character) comes in one more call, with no new token
                result = plain.generate(lane, request.withIgnoreEos(true), (TokenListener.PerToken) (made, text) -> {
                    if (tokens.getAndAdd(made.length) < 3 || !textlessAfterThird) {
                        listener.onTokens(made, text);
                    }
                    third.countDown();
                    LockSupport.parkNanos(200_000_000L); // a token per 200 ms: time enough for a departure to reach the connection on a busy machine
                }, cancel);
                return result;
            } finally {
                finished.countDown();
            }
        }
    }

    /** Fails after its first token went to the client. */
    static final class LateFailing implements AdaptationStrategy {
        private final PlainGeneration plain = new PlainGeneration();

        @Override
        public String name() {
            return "late-failing";
        }

        @Override
        public int sequencesNeeded() {
            return 1;
        }

        @Override
        public GenerationResult generate(DecodeLane lane, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
            AtomicInteger seen = new AtomicInteger();
            return plain.generate(lane, request, (token, text) -> {
                listener.onToken(token, text);
                if (seen.incrementAndGet() == 1) {
                    throw new IllegalStateException("late-failing: failed after its first token");
                }
            }, cancel);
        }
    }

    /** Works until it is cancelled (at most a minute), producing nothing. */
    static final class Slow implements AdaptationStrategy {
        final AtomicLong stoppedAfterNanos = new AtomicLong(-1);
        volatile CountDownLatch started = new CountDownLatch(1);
        /** Whether it stopped because it was cancelled or interrupted (rather than at its own one-minute cap). */
        volatile boolean sawCancel;

        @Override
        public String name() {
            return "slow";
        }

        @Override
        public int sequencesNeeded() {
            return 1;
        }

        @Override
        public GenerationResult generate(DecodeLane session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
            long t0 = System.nanoTime();
            started.countDown();
            while (!cancel.isCancelled() && System.nanoTime() - t0 < 60_000_000_000L) {
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            // the container may interrupt the answering thread a moment before the token's cancel lands: both mean departure
            sawCancel = cancel.isCancelled() || Thread.currentThread().isInterrupted();
            stoppedAfterNanos.set(System.nanoTime() - t0);
            return new GenerationResult("", new int[0], request.prompt().length, FinishReason.CANCELLED, 0, 0);
        }
    }

    /**
     * Plain generation that pauses after its first token until it is released, or cancelled (the
     * client left, the budget ran out): a stand-in for an adaptation working between tokens, e.g.
     * rerouting's rounds. Counts the tokens the generator produced after the pause.
     */
    static final class Pausing implements AdaptationStrategy {
        private final PlainGeneration plain = new PlainGeneration();
        private final String name;
        private final int sequences;
        volatile CountDownLatch release = new CountDownLatch(1);
        volatile CountDownLatch paused = new CountDownLatch(1);
        volatile CountDownLatch finished = new CountDownLatch(1);
        final AtomicInteger tokensAfterPause = new AtomicInteger();
        volatile int tokensBeforePause;
        volatile boolean sawCancel;
        volatile GenerationResult result;
        volatile Thread thread;

        Pausing(String name, int sequences) {
            this.name = name;
            this.sequences = sequences;
        }

        /** Arms it for the next request. */
        void reset() {
            release = new CountDownLatch(1);
            paused = new CountDownLatch(1);
            finished = new CountDownLatch(1);
            tokensAfterPause.set(0);
            sawCancel = false;
            result = null;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public int sequencesNeeded() {
            return sequences;
        }

        @Override
        public GenerationResult generate(DecodeLane session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
            thread = Thread.currentThread();
            AtomicInteger seen = new AtomicInteger();
            try {
                result = plain.generate(session, request, (TokenListener.PerToken) (made, text) -> {
                    if (seen.incrementAndGet() > 1) {
                        tokensAfterPause.addAndGet(made.length); // tokens, not calls (see Dripping)
                    } else {
                        tokensBeforePause = made.length; // more than one where the first completed no text
                    }
                    listener.onTokens(made, text);
                    if (seen.get() == 1) {
                        paused.countDown();
                        long t0 = System.nanoTime();
                        while (release.getCount() > 0 && !cancel.isCancelled() && System.nanoTime() - t0 < 60_000_000_000L) {
                            try {
                                release.await(1, TimeUnit.MILLISECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt(); // the container stops an abandoned answer's thread
                                break;
                            }
                        }
                        sawCancel = cancel.isCancelled() || Thread.currentThread().isInterrupted();
                    }
                }, cancel);
                return result;
            } finally {
                finished.countDown();
            }
        }
    }

    /** Finds the request's settings wrong only once generating, as a method may (e.g. against the prompt). */
    static final class Refusing implements AdaptationStrategy {
        @Override
        public String name() {
            return "refusing";
        }

        @Override
        public int sequencesNeeded() {
            return 1;
        }

        @Override
        public GenerationResult generate(DecodeLane session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
            throw new InvalidRequestException("refusing: this prompt does not suit the arm's settings");
        }
    }

    /** Dies with an Error, not an exception (as running out of memory does). */
    static final class Crashing implements AdaptationStrategy {
        @Override
        public String name() {
            return "crashing";
        }

        @Override
        public int sequencesNeeded() {
            return 1;
        }

        @Override
        public GenerationResult generate(DecodeLane session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
            throw new OutOfMemoryError("crashing: simulated");
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

        /** Takes any settings a request sends, and ignores them. */
        @Override
        public AdaptationStrategy withSettings(StrategySettings settings) {
            return this;
        }

        @Override
        public GenerationResult generate(DecodeLane session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
            calls.incrementAndGet();
            if (failing) {
                throw new IllegalStateException("flaky adaptation failed");
            }
            return plain.generate(session, request, listener, cancel);
        }
    }
}
