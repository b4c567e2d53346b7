package dev.moeadapter.scmoe;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.ModelRequirements;
import dev.moeadapter.core.adaptation.RoutingViews;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.TokenListener;

import java.util.Objects;
import java.util.Set;

/** SCMoE ("Unchosen Experts Can Contribute Too", NeurIPS 2024) on sequences 0 (strong) and 1 (weak). */
public final class ScmoeStrategy implements AdaptationStrategy {
    /** The names {@link #withSettings} reads. */
    public static final Set<String> SETTINGS = Set.of("alpha", "beta", "weak", "mask-eos");
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

    /**
     * Settings {@code alpha}, {@code beta}, {@code weak} (see {@link WeakRouting#parse}) and
     * {@code mask-eos} (true | false), each defaulting to this strategy's.
     */
    @Override
    public ScmoeStrategy withSettings(StrategySettings s) {
        if (s.isEmpty()) {
            return this;
        }
        s.requireOnly("scmoe", SETTINGS);
        String w = s.stringValue("weak", null);
        WeakRouting weak = w == null ? settings.weak() : WeakRouting.parse(w);
        String eos = s.stringValue("mask-eos", null);
        boolean maskEos = settings.maskEos();
        if (eos != null) {
            if (!eos.equals("true") && !eos.equals("false")) {
                throw new InvalidRequestException("scmoe setting 'mask-eos' must be true or false, got '" + eos + "'");
            }
            maskEos = Boolean.parseBoolean(eos);
        }
        return new ScmoeStrategy(new ScmoeSettings(weak, s.floatValue("alpha", settings.alpha()), s.floatValue("beta", settings.beta()), maskEos));
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
    public GenerationResult generate(Session session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
        ContrastiveDecoding scheme = new ContrastiveDecoding(session, settings, 0, 1);
        try {
            return new Generator(session, scheme).generate(request, listener, cancel);
        } finally {
            session.clearPlan(1);
        }
    }
}
