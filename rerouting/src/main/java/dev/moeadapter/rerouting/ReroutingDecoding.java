package dev.moeadapter.rerouting;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.ResultCache;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Sampler;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.DecodingScheme;
import dev.moeadapter.core.optim.SpsaDescent;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TraceSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Decoding with continuous rerouting. The answer is sequence 0; while a round runs, sequence 1
 * holds the context under the current δ and sequences 2..2q+1 its perturbed copies.
 * <p>
 * A round (at prefill, then every {@code interval} generated tokens) takes {@code steps} steps of
 * {@link SpsaDescent} on θ, each evaluating the context's NLL at the current δ and under the 2q
 * perturbed deltas in one batched decode, then one evaluation of the last proposal; the round keeps
 * the best point it evaluated, so its context loss never ends above where it started. The first round also measures the prompt's own routing (δ = 0), which fixes the layers
 * and the parameterisation for the request. After a round the answer's KV cache is stale from the
 * lowest adapted layer up, so sequence 0 is re-decoded under the new δ, and generation continues
 * under it. With a loss window the copies share the older context, decoded under the round's
 * starting δ, through a KV copy and re-decode only the window.
 * <p>
 * The prefill round depends only on the prompt (the conversation so far) and the settings, so its
 * outcome — the delta space and the optimiser state, hence δ — is kept in a {@link ResultCache}: the
 * same prompt under the same settings skips that round's optimisation, rebuilds the answer under the
 * kept δ and continues exactly as the first request did. Only a whole prompt matches: a later turn
 * of a chat is a longer prompt with an entry of its own.
 */
public final class ReroutingDecoding implements DecodingScheme {
    private static final Logger LOG = LoggerFactory.getLogger(ReroutingDecoding.class);
    private static final int ANSWER = 0;
    private static final int FIRST_PROBE = 1;

    private final DecodeLane session;
    private final ReroutingSettings settings;
    private final CancellationToken cancel;
    private final ResultCache cache;
    private final ContextLoss loss;
    private final List<RoundReport> rounds = new ArrayList<>();
    private int[] context = new int[0];
    private int length;
    private int generated;
    private DeltaSpace space;
    private SpsaDescent optimizer;
    private RoutingPlan plan = RoutingPlan.EMPTY;
    private boolean contextTooLong;
    private int last;
    private boolean reused;

    public ReroutingDecoding(DecodeLane session, ReroutingSettings settings, CancellationToken cancel) {
        this(session, settings, cancel, ResultCache.NONE);
    }

    /** @param cache keeps the outcome of the prefill round per prompt and settings */
    public ReroutingDecoding(DecodeLane session, ReroutingSettings settings, CancellationToken cancel, ResultCache cache) {
        if (session.sequences() < settings.sequencesNeeded()) {
            throw new InvalidRequestException("rerouting with q = " + settings.gains().directions() + " needs "
                    + settings.sequencesNeeded() + " sequences per session (the answer, the context under the current deltas and 2q perturbed copies); this session has "
                    + session.sequences());
        }
        settings.requirements().require(session.model().info()); // callers that skip the service's startup check
        this.session = session;
        this.settings = settings;
        this.cancel = cancel;
        this.cache = Objects.requireNonNull(cache, "cache");
        this.loss = new ContextLoss(session);
        for (int s = FIRST_PROBE; s < settings.sequencesNeeded(); s++) {
            session.setTrace(s, TraceSpec.OFF);
        }
    }

    @Override
    public void prefill(int[] prompt, CancellationToken prefillCancel) {
        context = Arrays.copyOf(prompt, Math.max(16, prompt.length * 2));
        length = prompt.length;
        generated = 0;
        // an empty cache at the start makes the KV cell layout, hence every sum, the same for every request
        for (int s = ANSWER; s < settings.sequencesNeeded(); s++) {
            session.clearSequence(s);
        }
        if (prefillCancel.isCancelled()) {
            throw new CancelledException("cancelled during prefill");
        }
        if (settings.steps() > 0) {
            optimisePrompt();
        }
        rebuild(prefillCancel);
    }

    @Override
    public int next(Sampler sampler) {
        return sampler == null ? session.argmax(last) : session.sample(sampler, last);
    }

    @Override
    public void append(int token, int position, boolean lastToken) {
        if (length == context.length) {
            context = Arrays.copyOf(context, length * 2);
        }
        context[length++] = token;
        generated++;
        if (settings.steps() > 0 && generated % settings.interval() == 0 && optimise()) {
            rebuild(cancel);
        } else {
            session.decode(Batch.of(ANSWER, position, token));
            last = 0;
        }
    }

    /** The rounds run so far in this request. */
    public List<RoundReport> rounds() {
        return List.copyOf(rounds);
    }

    /** Whether the prefill round's outcome came from the cache (so {@link #rounds()} lacks that round). */
    public boolean reusedPrefillRound() {
        return reused;
    }

    /** The routing plan the answer is decoded under now. */
    public RoutingPlan plan() {
        return plan;
    }

    /** Empties the perturbed copies and clears every plan this scheme set, leaving the session reusable. */
    public void release() {
        for (int s = ANSWER; s < settings.sequencesNeeded(); s++) {
            session.clearPlan(s);
            if (s != ANSWER) {
                session.clearSequence(s);
            }
        }
    }

    /** Batch row of the answer's last output (tests). */
    int lastRow() {
        return last;
    }

    /** Runs one round; false if it could not run (so δ did not change). */
    private boolean optimise() {
        if (!roundFits()) {
            return false;
        }
        round();
        return true;
    }

    /** The prefill round, or its outcome for the same prompt and settings from the cache. */
    private void optimisePrompt() {
        if (!roundFits()) {
            return;
        }
        String shape = settings + " batch=" + session.batchSize() + " model=" + session.model().path().toAbsolutePath();
        ResultCache.Key key = ResultCache.Key.of("rerouting.prefill", shape, Arrays.copyOf(context, length));
        boolean[] ran = {false};
        TunedPrompt tuned = cache.get(key, TunedPrompt.class, () -> {
            ran[0] = true;
            round();
            return new TunedPrompt(space, optimizer);
        });
        if (!ran[0]) {
            space = tuned.space();
            optimizer = tuned.optimizer();
            plan = space.plan(optimizer.parameters());
            reused = true;
            LOG.debug("rerouting reuses the deltas tuned for this prompt of {} tokens (layers {})", length, Arrays.toString(space.layers()));
        }
    }

    /** Whether the context is long enough to learn from and its perturbed copies fit in the session. */
    private boolean roundFits() {
        int probes = settings.gains().pointsPerStep();
        int from = lossStart();
        long cells = length + (long) probes * (length - 1 - from);
        if (cells > session.contextSize()) {
            if (!contextTooLong) {
                LOG.warn("rerouting skipped from {} context tokens on: the answer and {} copies of the context need {} KV cells, "
                        + "the session has {}; the answer continues under the current deltas", length, probes, cells, session.contextSize());
                contextTooLong = true;
            }
            return false;
        }
        return length >= 2;
    }

    /** The loss covers the next tokens of positions [lossStart, length - 1); earlier ones are a shared prefix. */
    private int lossStart() {
        return settings.window() == 0 ? 0 : Math.max(0, length - 1 - settings.window());
    }

    private void round() {
        long t0 = System.nanoTime();
        int probes = settings.gains().pointsPerStep();
        int from = lossStart();
        int source = ANSWER;
        if (space == null) {
            space = measureContext();
            optimizer = new SpsaDescent(new float[space.dimension()], space.updateWeights(), settings.gains(), settings.seed());
            source = FIRST_PROBE;
        }
        // the prefix, decoded under the current deltas, is shared: the answer holds it (positions up
        // to length - 2), or in the first round the measuring pass on the first copy does
        for (int s = FIRST_PROBE; s <= probes; s++) {
            if (s != source) {
                session.clearSequence(s);
                if (from > 0) {
                    session.copySequence(source, s, 0, from);
                }
            }
        }
        optimizer.restart(); // a longer context: losses of earlier rounds do not compare
        float[] pointLosses = new float[settings.steps() + 1];
        for (int step = 0; step < settings.steps(); step++) {
            List<RoutingPlan> plans = optimizer.points().stream().map(space::plan).toList();
            float[] losses = loss.evaluate(context, from, length - 1, plans, FIRST_PROBE, cancel);
            optimizer.step(losses);
            pointLosses[step] = losses[0];
        }
        float last = loss.evaluate(context, from, length - 1, List.of(space.plan(optimizer.parameters())), FIRST_PROBE, cancel)[0];
        pointLosses[settings.steps()] = last;
        float kept = (float) optimizer.settle(last);
        for (int s = FIRST_PROBE; s <= probes; s++) {
            session.clearSequence(s);
        }
        plan = space.plan(optimizer.parameters());
        RoundReport report = new RoundReport(length, pointLosses, kept, System.nanoTime() - t0);
        rounds.add(report);
        if (LOG.isDebugEnabled()) {
            LOG.debug("rerouting round {} over {} context tokens (loss on the last {}): loss {} -> {} in {} steps ({} accepted so far), {} ms",
                    rounds.size(), length, length - 1 - from, pointLosses[0], kept, settings.steps(), optimizer.accepted(),
                    report.nanos() / 1_000_000);
        }
    }

    /**
     * The context's own routing under the current (zero) deltas, traced on the first copy, which
     * keeps that decode as the prefix the others copy: fixes the delta space for the request.
     */
    private DeltaSpace measureContext() {
        var info = session.model().info();
        session.clearSequence(FIRST_PROBE);
        session.setTrace(FIRST_PROBE, new TraceSpec(false, PositionRange.ALL));
        try {
            loss.evaluate(context, 0, length - 1, List.of(plan), FIRST_PROBE, cancel);
        } finally {
            session.setTrace(FIRST_PROBE, TraceSpec.OFF);
        }
        ContextStatistics stats = ContextStatistics.of(session.drainTrace(), info, FIRST_PROBE);
        DeltaSpace s = DeltaSpace.of(settings, stats, info.experts());
        LOG.debug("rerouting adapts layers {} ({} parameters) by C_l {}", Arrays.toString(s.layers()), s.dimension(),
                Arrays.toString(stats.scores()));
        return s;
    }

    /** Re-decodes the whole context on the answer's sequence under the current plan. */
    private void rebuild(CancellationToken c) {
        session.clearSequence(ANSWER);
        session.setPlan(ANSWER, plan);
        int size = session.batchSize();
        for (int start = 0; start < length; start += size) {
            if (c.isCancelled()) {
                throw new CancelledException("cancelled while re-decoding the context");
            }
            int end = Math.min(length, start + size);
            session.decode(Batch.of(ANSWER, start, Arrays.copyOfRange(context, start, end)));
            last = end - start - 1;
        }
    }
}
