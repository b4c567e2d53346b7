package dev.moeadapter.c3po;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.ModelRequirements;
import dev.moeadapter.core.adaptation.ResultCache;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Gating;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.FinishReason;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RoutingPlan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * C3PO ("Critical-layer, core-expert, collaborative pathway optimisation", arXiv 2504.07964): the
 * pathway of the last prompt token — router probabilities in the critical layers — is re-mixed from
 * the pathways of labelled neighbours that the model answered correctly, and injected at the last
 * prompt token and every generated token.
 *
 * <p>Sequence 0 answers. Sequence 1 first reads the prompt plainly (its pathway ω0 and embedding);
 * the prompt's prefix is then shared with sequence 0, and sequences from 1 on hold the neighbours
 * while the pathway is optimised. A reference set smaller than {@link C3poSettings#minReferences()},
 * or a prompt without usable neighbours, keeps the base model's routing (logged, not an error).
 */
public final class C3poStrategy implements AdaptationStrategy {
    private static final Logger LOG = LoggerFactory.getLogger(C3poStrategy.class);
    private static final int ANSWER = 0, PROBE = 1;
    /**
     * The pathway is a softmax distribution over experts that replaces the router's; the prompt's
     * prefix is shared through KV copies, and every candidate pathway decodes and then removes the
     * neighbours' scored tokens.
     */
    public static final ModelRequirements REQUIREMENTS = ModelRequirements.routerEdits("c3po")
            .onlyGating(Set.of(Gating.SOFTMAX), "it re-mixes the router's softmax distributions over experts")
            .rollingBackPrefixes("shares a prompt's prefix between sequences (a KV copy of all but its last token) and removes the "
                    + "tokens it scored after each candidate pathway (decode-then-remove)", null);

    private final ReferenceSet refs;
    private final Embedder embedder;
    private final C3poSettings settings;
    private final PathwaySearch search;
    private final ResultCache cache;
    private final String cacheSettings;

    /**
     * @throws ReferenceSetMismatchException when the set was built with another embedder
     */
    public C3poStrategy(ReferenceSet refs, Embedder embedder, C3poSettings settings) {
        this(refs, embedder, settings, ResultCache.NONE);
    }

    /**
     * @param cache keeps the pathway found for a prompt (with its neighbours), so that the same prompt
     *              under the same settings skips the probe, the neighbour search and the optimisation
     * @throws ReferenceSetMismatchException when the set was built with another embedder
     */
    /** This strategy with an arm's or a request's settings applied (see {@link C3poSettings#SCHEMA}). */
    @Override
    public C3poStrategy withSettings(StrategySettings s) {
        return s.isEmpty() ? this : new C3poStrategy(refs, embedder, settings.withOverrides(s), cache);
    }

    public C3poStrategy(ReferenceSet refs, Embedder embedder, C3poSettings settings, ResultCache cache) {
        this.cache = Objects.requireNonNull(cache, "cache");
        this.refs = Objects.requireNonNull(refs, "refs");
        this.embedder = Objects.requireNonNull(embedder, "embedder");
        this.settings = Objects.requireNonNull(settings, "settings");
        if (!refs.header().embedderId().equals(embedder.id())) {
            throw new ReferenceSetMismatchException("reference set " + refs.file() + " holds embeddings of '" + refs.header().embedderId()
                    + "', but the configured embedder is '" + embedder.id() + "'; rebuild the set with that embedder");
        }
        this.search = new PathwaySearch(refs, settings);
        this.cacheSettings = settings + " refs=" + refs.file().toAbsolutePath() + " model=" + refs.header().modelSha256()
                + " embedder=" + embedder.id();
        if (refs.size() < settings.minReferences()) {
            LOG.warn("c3po: reference set {} has {} items, fewer than the {} required; c3po requests keep the base model's routing",
                    refs.file().getFileName(), refs.size(), settings.minReferences());
        }
    }

    public C3poSettings settings() {
        return settings;
    }

    public ReferenceSet referenceSet() {
        return refs;
    }

    @Override
    public String name() {
        return "c3po";
    }

    @Override
    public ModelRequirements requirements() {
        return REQUIREMENTS;
    }

    @Override
    public int sequencesNeeded() {
        return settings.sequencesNeeded();
    }

    @Override
    public GenerationResult generate(DecodeLane session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
        long t0 = System.nanoTime();
        try {
            Adaptation a;
            try {
                a = adapt(session, request.prompt(), cancel);
            } catch (CancelledException e) {
                return new GenerationResult("", new int[0], request.prompt().length, FinishReason.CANCELLED, System.nanoTime() - t0, 0);
            }
            GenerationResult r = new Generator(session, new PrefixedDecoding(session, ANSWER)).generate(request, listener, cancel);
            return new GenerationResult(r.text(), r.tokens(), r.promptTokens(), r.finishReason(), r.prefillNanos() + a.nanos(), r.decodeNanos());
        } finally {
            session.setPlan(ANSWER, RoutingPlan.EMPTY);
        }
    }

    /**
     * Prepares sequence 0 for an answer to {@code prompt}: it holds the prompt except its last token
     * (routed plainly) and, unless C3PO degraded to the base model, a plan that replaces the critical
     * layers' router distribution by the optimised pathway from the last prompt token on.
     */
    public Adaptation adapt(DecodeLane session, int[] prompt, CancellationToken cancel) {
        long t0 = System.nanoTime();
        checkModel(session.model().info());
        if (prompt.length == 0) {
            throw new InvalidRequestException("the prompt is empty");
        }
        if (session.sequences() < 2) {
            throw new InvalidRequestException("c3po needs a session with at least 2 sequences, this one has " + session.sequences());
        }
        String label = settings.algorithm().label();
        int last = prompt.length - 1;
        session.setPlan(ANSWER, RoutingPlan.EMPTY);
        session.clearSequence(ANSWER);
        if (refs.size() < settings.minReferences()) {
            prefillPlain(session, Arrays.copyOf(prompt, last), cancel);
            String reason = "the reference set has " + refs.size() + " items, fewer than the " + settings.minReferences() + " required";
            LOG.debug("c3po {}: keeping the base model's routing: {}", label, reason); // warned once at construction
            return Adaptation.degraded(label, reason, System.nanoTime() - t0);
        }
        // the pathway depends on the prompt, the settings, the references and the embedder; the model is the set's
        ResultCache.Key key = ResultCache.Key.of("c3po.pathway", cacheSettings, prompt);
        boolean[] searched = {false};
        Adaptation found = cache.get(key, Adaptation.class, () -> {
            searched[0] = true;
            return findPathway(session, prompt, label, cancel, t0);
        });
        if (!searched[0]) {
            // the probe that would have left the prefix in the answer's sequence did not run
            prefillPlain(session, Arrays.copyOf(prompt, last), cancel);
            found = found.withNanos(System.nanoTime() - t0);
            LOG.debug("c3po {}: reusing the pathway found for this prompt and settings ({})", label,
                    found.adapted() ? "layers " + found.layers() : "base routing: " + found.degraded());
        }
        if (found.adapted()) {
            session.setPlan(ANSWER, CriticalRegion.plan(found.layers(), found.pathway(), settings.injection().positions(last)));
        }
        return found;
    }

    /** Probes the prompt, finds its neighbours and optimises the pathway; leaves the prompt's prefix in the answer's sequence. */
    private Adaptation findPathway(DecodeLane session, int[] prompt, String label, CancellationToken cancel, long t0) {
        int last = prompt.length - 1;
        PromptProbe.Result probe = PromptProbe.run(session, PROBE, prompt, embedder.usesHiddenState(), cancel);
        if (last > 0) {
            session.copySequence(PROBE, ANSWER, 0, last);
        }
        session.clearSequence(PROBE);
        String text = embedder.usesHiddenState() ? "" : session.model().detokenize(prompt);
        float[] query = refs.normalise(embedder.embed(text, probe.meanHiddenState()));
        NeighbourSearch.Result found = NeighbourSearch.nearest(refs, query, settings.neighbours(),
                settings.algorithm().leavesOutNearDuplicates() ? settings.duplicateSimilarity() : Double.POSITIVE_INFINITY, settings.bandwidth());
        CriticalRegion region = CriticalRegion.of(refs.header().moeLayers(), refs.header().experts(), probe.pathway(),
                settings.criticalLayers(), settings.coreExperts());
        PathwaySearch.Outcome o = search.search(session, region, found, PROBE, cancel);
        if (o.degraded() != null) {
            return degraded(label, o.degraded(), t0);
        }
        Adaptation a = new Adaptation(label, o.neighbours(), region.layers(), o.pathway(), o.baseLoss(), o.loss(), o.evaluations(), null,
                System.nanoTime() - t0);
        if (LOG.isDebugEnabled()) {
            LOG.debug("c3po {}: neighbours [{}], layers {}, loss {} -> {} over {} evaluations, {} ms", label,
                    a.neighbours().stream().map(n -> n.id() + String.format(" %.3f", n.similarity())).collect(Collectors.joining(", ")),
                    a.layers(), String.format("%.4f", a.baseLoss()), String.format("%.4f", a.loss()), a.evaluations(), a.nanos() / 1_000_000);
        }
        return a;
    }

    private void checkModel(ModelInfo info) {
        REQUIREMENTS.require(info); // callers that skip the service's startup check
        if (!info.moeLayers().equals(refs.header().moeLayers()) || info.experts() != refs.header().experts()) {
            throw new ReferenceSetMismatchException("reference set " + refs.file() + " describes MoE layers " + refs.header().moeLayers()
                    + " x " + refs.header().experts() + " experts; the session's model has " + info.moeLayers() + " x " + info.experts());
        }
    }

    private static void prefillPlain(DecodeLane session, int[] tokens, CancellationToken cancel) {
        for (int start = 0; start < tokens.length; start += session.batchSize()) {
            if (cancel.isCancelled()) {
                throw new CancelledException("cancelled during prefill");
            }
            int end = Math.min(tokens.length, start + session.batchSize());
            session.decode(Batch.of(ANSWER, start, Arrays.copyOfRange(tokens, start, end)));
        }
    }

    private static Adaptation degraded(String label, String reason, long t0) {
        LOG.info("c3po {}: keeping the base model's routing: {}", label, reason);
        return Adaptation.degraded(label, reason, System.nanoTime() - t0);
    }
}
