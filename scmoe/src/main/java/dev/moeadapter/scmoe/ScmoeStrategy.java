package dev.moeadapter.scmoe;

import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.TokenListener;

import java.util.Objects;

/** SCMoE ("Unchosen Experts Can Contribute Too", NeurIPS 2024) on sequences 0 (strong) and 1 (weak). */
public final class ScmoeStrategy implements AdaptationStrategy {
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
