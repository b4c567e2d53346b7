package dev.moeadapter.c3po;

import dev.moeadapter.core.adaptation.AdaptationProvider;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.ProviderContext;
import dev.moeadapter.core.adaptation.SettingsSchema;
import dev.moeadapter.core.adaptation.StrategySettings;

import java.util.Optional;

/**
 * C3PO as a plug-in: settings {@link C3poSettings#SCHEMA}. It needs a {@link ReferenceSet} from its
 * host (which owns and closes it) and is unavailable without one; it searches neighbours with the
 * host's {@link Embedder}, or, where the host has none, with the built-in embedder the set was built
 * with.
 */
public final class C3poProvider implements AdaptationProvider {
    @Override
    public String name() {
        return "c3po";
    }

    @Override
    public SettingsSchema schema() {
        return C3poSettings.SCHEMA;
    }

    @Override
    public Requirements requirements(StrategySettings settings) {
        return new Requirements(C3poStrategy.REQUIREMENTS, C3poSettings.DEFAULTS.withOverrides(settings).sequencesNeeded());
    }

    @Override
    public Optional<String> unavailable(ProviderContext context) {
        return context.lookup(ReferenceSet.class).isPresent() ? Optional.empty()
                : Optional.of("c3po needs a reference set built with c3po-build for the served model, and none is configured");
    }

    /**
     * @throws ReferenceSetMismatchException when the set was built with another embedder than the host's
     */
    @Override
    public AdaptationStrategy create(ProviderContext context, StrategySettings settings) {
        C3poSettings s = C3poSettings.DEFAULTS.withOverrides(settings);
        ReferenceSet refs = context.require(ReferenceSet.class, "c3po", "the labelled neighbours whose pathways it re-mixes");
        Embedder embedder = context.lookup(Embedder.class).orElseGet(() -> Embedder.builtIn(refs.header().embedderId()));
        return new C3poStrategy(refs, embedder, s, context.cache());
    }
}
