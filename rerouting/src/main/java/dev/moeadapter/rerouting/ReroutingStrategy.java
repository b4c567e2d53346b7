package dev.moeadapter.rerouting;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.ModelRequirements;
import dev.moeadapter.core.adaptation.ResultCache;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.TokenListener;

import java.util.Objects;

/**
 * Continuous rerouting ("Rewiring Experts on the Fly", arXiv 2510.14853): the answer on sequence 0,
 * the context under the current δ on sequence 1 and its 2q perturbed copies on sequences 2..2q+1.
 */
public final class ReroutingStrategy implements AdaptationStrategy {
    private final ReroutingSettings settings;
    private final ResultCache cache;

    public ReroutingStrategy(ReroutingSettings settings) {
        this(settings, ResultCache.NONE);
    }

    /** @param cache keeps the deltas tuned at prefill per prompt and settings, for requests with the same prompt */
    public ReroutingStrategy(ReroutingSettings settings, ResultCache cache) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.cache = Objects.requireNonNull(cache, "cache");
    }

    /** This strategy with an arm's or a request's settings applied (see {@link ReroutingSettings#withOverrides}). */
    @Override
    public ReroutingStrategy withSettings(StrategySettings s) {
        return s.isEmpty() ? this : new ReroutingStrategy(settings.withOverrides(s), cache);
    }

    public ReroutingSettings settings() {
        return settings;
    }

    @Override
    public String name() {
        return "rerouting";
    }

    @Override
    public ModelRequirements requirements() {
        return settings.requirements();
    }

    @Override
    public int sequencesNeeded() {
        return settings.sequencesNeeded();
    }

    /** {@code param: top:M} names at most the model's experts: more would free nothing more, and is a mistake. */
    @Override
    public void validate(ModelInfo model) {
        AdaptationStrategy.super.validate(model);
        if (settings.parameterisation() instanceof Parameterisation.TopExperts(int experts) && experts > model.experts()) {
            throw new InvalidRequestException("rerouting setting 'param' top:M must name at most the model's " + model.experts()
                    + " experts, got top:" + experts);
        }
    }

    @Override
    public GenerationResult generate(DecodeLane session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
        ReroutingDecoding scheme = new ReroutingDecoding(session, settings, cancel, cache);
        try {
            return new Generator(session, scheme).generate(request, listener, cancel);
        } finally {
            scheme.release();
        }
    }
}
