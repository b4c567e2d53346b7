package dev.moeadapter.scmoe;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** SCMoE ("Unchosen Experts Can Contribute Too", NeurIPS 2024) on sequences 0 (strong) and 1 (weak). */
public final class ScmoeStrategy implements AdaptationStrategy {
    private static final Pattern WEAK = Pattern.compile("(rank|top)-(\\d{1,4})");

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

    /** Settings {@code alpha}, {@code beta} and {@code weak} ("rank-K" or "top-M"), each defaulting to this strategy's. */
    @Override
    public ScmoeStrategy withSettings(StrategySettings s) {
        if (s.isEmpty()) {
            return this;
        }
        s.requireOnly("scmoe", Set.of("alpha", "beta", "weak"));
        WeakRouting weak = settings.weak();
        String w = s.stringValue("weak", null);
        if (w != null) {
            Matcher m = WEAK.matcher(w.trim());
            if (!m.matches()) {
                throw new InvalidRequestException("scmoe setting 'weak' must be rank-K or top-M, got '" + w + "'");
            }
            int n = Integer.parseInt(m.group(2));
            weak = m.group(1).equals("rank") ? new WeakRouting.RankK(n) : new WeakRouting.TopM(n);
        }
        return new ScmoeStrategy(new ScmoeSettings(weak, s.floatValue("alpha", settings.alpha()), s.floatValue("beta", settings.beta())));
    }

    @Override
    public void validate(ModelInfo model) {
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
