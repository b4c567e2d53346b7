package dev.moeadapter.serving.guard;

import dev.moeadapter.core.ContextFullException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.FinishReason;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.serving.routing.RoutingProbe;
import dev.moeadapter.serving.routing.RoutingRecorder;
import dev.moeadapter.serving.routing.RoutingSummary;
import dev.moeadapter.serving.policy.Arm;
import dev.moeadapter.serving.policy.Policy;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The guards of each adapting arm: a time budget over all its work and a circuit breaker, both of
 * which answer with plain generation rather than fail where no answer has started.
 *
 * <p>The time budget is not Resilience4j's TimeLimiter: that one abandons a future, while an
 * adaptation holds a session and must be stopped — through its CancellationToken between tokens and
 * {@link Session#abortDecode()} inside a decode — before the session can answer plainly.
 */
public final class ArmGuards implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ArmGuards.class);

    private final CircuitBreakerRegistry breakers;
    private final AdaptationStrategy plain;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "moe-time-budget");
        t.setDaemon(true);
        return t;
    });

    /**
     * @param b        the circuit breaker of every adapting arm
     * @param policies the policies whose adapting arms are guarded
     * @param plain    the strategy that answers in an arm's stead
     */
    public ArmGuards(BreakerSettings b, Collection<Policy> policies, AdaptationStrategy plain) {
        this.breakers = CircuitBreakerRegistry.of(CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(b.window())
                .minimumNumberOfCalls(b.minimumCalls())
                .failureRateThreshold(b.failureRate())
                .waitDurationInOpenState(b.waitInOpen())
                .permittedNumberOfCallsInHalfOpenState(b.halfOpenCalls())
                .build());
        this.plain = plain;
        for (Policy p : policies) {
            for (Arm a : p.arms()) {
                if (!a.isPlain()) {
                    breaker(a).getEventPublisher().onStateTransition(e -> LOG.warn("arm {}: circuit breaker {} -> {}",
                            a.key(), e.getStateTransition().getFromState(), e.getStateTransition().getToState()));
                }
            }
        }
    }

    /** The registry of the arms' circuit breakers, for metrics binders. */
    public CircuitBreakerRegistry breakers() {
        return breakers;
    }

    /** The circuit breaker of an adapting arm. */
    public CircuitBreaker breaker(Arm arm) {
        return breakers.circuitBreaker(arm.key());
    }

    /**
     * Runs {@code strategy} for {@code arm} under its time budget and circuit breaker. The budget
     * covers all the adaptation's work: when it runs out before the first token, or the breaker is
     * open, or the adaptation fails before its first token, plain generation answers; when it runs
     * out later, the answer ends where it is ({@link Answer#cut()}). Request errors (bad settings
     * for this model, a full context) propagate: they are the request's fault, not the arm's.
     * {@code recorder} receives the routing of whichever strategy answers.
     *
     * <p>The breaker counts only what speaks for the arm as configured: adaptation failures, not a
     * request with settings of its own ({@code asConfigured} false: a client could pick slow ones), not
     * a budget that ran out (before the first token the adaptation's work grows with the prompt, after
     * it the answer's length is the client's), not a cancelled one. Else one client could open the
     * arm's circuit for every other.
     */
    public Answer run(Arm arm, AdaptationStrategy strategy, boolean asConfigured, DecodeLane session, GenerationRequest request,
                      TokenListener listener, CancellationToken cancel, RoutingRecorder recorder) {
        if (arm.isPlain()) {
            return unguarded(strategy, session, request, listener, cancel, recorder);
        }
        Call breaker = new Call(breaker(arm), asConfigured);
        if (!breaker.permitted()) {
            return fallback(FallbackReason.CIRCUIT_OPEN, session, request, listener, cancel, recorder);
        }
        RoutingProbe probe;
        try {
            probe = RoutingProbe.start(session, strategy.routingViews(), request.prompt().length, recorder);
        } catch (RuntimeException e) {
            breaker.release();
            throw e;
        }
        Attempt attempt = new Attempt(probe.tap(listener), cancel, session);
        GenerationResult result = null;
        RuntimeException failure = null;
        Attempt.End end;
        ScheduledFuture<?> budget = timer.schedule(attempt::expire, arm.timeBudget().toNanos(), TimeUnit.NANOSECONDS);
        try {
            result = strategy.generate(session, request, attempt, attempt.token());
        } catch (RuntimeException e) {
            failure = e;
        } finally {
            // whatever happened, the expiry may not outlive this request: it would abort another one's decode
            end = settle(attempt, budget, session);
        }
        long elapsed = System.nanoTime() - attempt.started();
        switch (end) {
            case EXPIRED -> {
                probe.stop();
                breaker.release(); // the work before the first token grows with the prompt, the client's choice
                return overBudget(arm, session, request, listener, cancel, recorder);
            }
            case CUT -> {
                probe.stop();
                breaker.release();
                LOG.info("arm {}: adaptation '{}' ran past its time budget of {} ms while answering; the answer ends there",
                        arm.key(), arm.adaptation(), arm.timeBudget().toMillis());
                GenerationResult cut = attempt.sentSoFar(request.prompt().length);
                return new Answer(cut, strategy.name(), null, true, attempt.firstTokenAt(), attempt.adaptationNanos(), null);
            }
            case DONE -> {
            }
        }
        if (failure instanceof InvalidRequestException || failure instanceof ContextFullException) {
            probe.stop();
            breaker.release();
            throw failure;
        }
        if (failure != null) {
            probe.stop();
            if (cancel.isCancelled()) {
                breaker.release();
                throw failure;
            }
            breaker.failed(elapsed, failure);
            if (attempt.answered()) {
                throw failure; // part of the answer is out: it cannot be replaced
            }
            LOG.warn("arm {}: adaptation '{}' failed before answering ({}); answering with plain generation", arm.key(),
                    strategy.name(), failure.toString());
            reset(session);
            return fallback(FallbackReason.ADAPTATION_ERROR, session, request, listener, cancel, recorder);
        }
        if (result.finishReason() == FinishReason.CANCELLED && cancel.isCancelled()) {
            breaker.release();
        } else {
            breaker.succeeded(elapsed);
        }
        return answer(strategy, result, attempt, probe, request);
    }

    /**
     * The breaker's part in one request. A request that speaks for the arm as configured takes a
     * permission and gives a verdict; one that does not is only kept out while the circuit is open,
     * and takes none of the half-open state's trial calls.
     */
    private record Call(CircuitBreaker breaker, boolean counts) {
        boolean permitted() {
            if (counts) {
                return breaker.tryAcquirePermission();
            }
            CircuitBreaker.State state = breaker.getState();
            return state != CircuitBreaker.State.OPEN && state != CircuitBreaker.State.FORCED_OPEN;
        }

        void release() {
            if (counts) {
                breaker.releasePermission();
            }
        }

        void failed(long nanos, Throwable cause) {
            if (counts) {
                breaker.onError(nanos, TimeUnit.NANOSECONDS, cause);
            }
        }

        void succeeded(long nanos) {
            if (counts) {
                breaker.onSuccess(nanos, TimeUnit.NANOSECONDS);
            }
        }
    }

    private Answer overBudget(Arm arm, DecodeLane session, GenerationRequest request, TokenListener listener, CancellationToken cancel,
                              RoutingRecorder recorder) {
        LOG.info("arm {}: adaptation '{}' had no answer within its time budget of {} ms; answering with plain generation",
                arm.key(), arm.adaptation(), arm.timeBudget().toMillis());
        return fallback(FallbackReason.TIME_BUDGET, session, request, listener, cancel, recorder);
    }

    private Answer fallback(FallbackReason reason, DecodeLane session, GenerationRequest request, TokenListener listener,
                            CancellationToken cancel, RoutingRecorder recorder) {
        Answer a = unguarded(plain, session, request, listener, cancel, recorder);
        return new Answer(a.result(), a.adaptation(), reason, false, a.firstTokenAt(), a.adaptationNanos(), a.routing());
    }

    private Answer unguarded(AdaptationStrategy strategy, DecodeLane session, GenerationRequest request, TokenListener listener,
                             CancellationToken cancel, RoutingRecorder recorder) {
        RoutingProbe probe = RoutingProbe.start(session, strategy.routingViews(), request.prompt().length, recorder);
        Attempt attempt = new Attempt(probe.tap(listener), cancel, session);
        try {
            return answer(strategy, strategy.generate(session, request, attempt, attempt.token()), attempt, probe, request);
        } finally {
            probe.stop();
        }
    }

    private static Answer answer(AdaptationStrategy strategy, GenerationResult r, Attempt attempt, RoutingProbe probe,
                                 GenerationRequest request) {
        try {
            RoutingSummary routing = r.finishReason() == FinishReason.CANCELLED ? null : probe.finish(request.prompt(), r.tokens(), r.finishReason());
            return new Answer(r, strategy.name(), null, false, attempt.firstTokenAt(), attempt.adaptationNanos(), routing);
        } finally {
            probe.stop();
        }
    }

    /**
     * Ends an attempt and its budget. If the budget expired first, its expiry may have aborted a
     * decode that was not running, which would stop the next one: wait for it and withdraw it.
     */
    private static Attempt.End settle(Attempt attempt, ScheduledFuture<?> budget, DecodeLane session) {
        Attempt.End end = attempt.finish();
        if (end == Attempt.End.DONE) {
            budget.cancel(false);
            return end;
        }
        try {
            budget.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            LOG.warn("time budget expiry failed", e.getCause());
        }
        reset(session);
        return end;
    }

    /** Leaves a session as a new attempt expects it: no plans, no traces, no pending abort. */
    private static void reset(DecodeLane session) {
        session.clearAbort(); // first: clearing a plan may decode rows a lane held back, which an abort would refuse
        for (int s = 0; s < session.sequences(); s++) {
            session.clearPlan(s);
            session.setTrace(s, TraceSpec.OFF);
        }
        session.drainTrace();
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    /**
     * What an attempt produced.
     *
     * @param adaptation    the strategy that produced the answer ("none" after a fallback)
     * @param fallback      why plain generation answered instead of the arm's adaptation, or null
     * @param cut           the time budget ran out while answering: the answer ends where it was
     * @param firstTokenAt  System.nanoTime() of the first token sent, 0 if none
     * @param adaptationNanos time the answering strategy took before its first token
     * @param routing       how far routing moved from base, or null where it could not be measured
     */
    public record Answer(GenerationResult result, String adaptation, FallbackReason fallback, boolean cut, long firstTokenAt, long adaptationNanos,
                  RoutingSummary routing) {
    }
}
