package dev.moeadapter.scmoe;

import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.ModelRequirements;
import dev.moeadapter.core.adaptation.RoutingViews;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.TokenListener;

import java.util.Objects;

/** SCMoE ("Unchosen Experts Can Contribute Too", NeurIPS 2024) on sequences 0 (strong) and 1 (weak). */
public final class ScmoeStrategy implements AdaptationStrategy {
    /** The weak view edits every MoE layer (rank-k, top-m, weight scales), which the engine does in every gating family. */
    public static final ModelRequirements REQUIREMENTS = ModelRequirements.routerEdits("scmoe");

    private final ScmoeSettings settings;

    public ScmoeStrategy(ScmoeSettings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    public ScmoeSettings settings() {
        return settings;
    }

    @Override
    public String name() {
        return "scmoe";
    }

    @Override
    public int sequencesNeeded() {
        return 2;
    }

    /** This strategy with an arm's or a request's settings applied (see {@link ScmoeSettings#SCHEMA}). */
    @Override
    public ScmoeStrategy withSettings(StrategySettings s) {
        return s.isEmpty() ? this : new ScmoeStrategy(settings.withOverrides(s));
    }

    @Override
    public ModelRequirements requirements() {
        return REQUIREMENTS;
    }

    @Override
    public void validate(ModelInfo model) {
        AdaptationStrategy.super.validate(model);
        settings.weak().validate(model);
    }

    /** The weak view (sequence 1) against the strong view, which routes as the model does (sequence 0). */
    @Override
    public RoutingViews routingViews() {
        return new RoutingViews.SideBySide(1, 0);
    }

    @Override
    public GenerationResult generate(DecodeLane session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
        ContrastiveDecoding scheme = new ContrastiveDecoding(session, settings, 0, 1);
        try {
            return new Generator(session, scheme).generate(request, listener, cancel);
        } finally {
            session.clearPlan(1);
        }
    }
}
