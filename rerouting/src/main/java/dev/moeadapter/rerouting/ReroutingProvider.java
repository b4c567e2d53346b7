package dev.moeadapter.rerouting;

import dev.moeadapter.core.adaptation.AdaptationProvider;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.ProviderContext;
import dev.moeadapter.core.adaptation.SettingsSchema;
import dev.moeadapter.core.adaptation.StrategySettings;

/**
 * Continuous rerouting as a plug-in: settings {@link ReroutingSettings#SCHEMA}; keeps the deltas
 * tuned at prefill in the host's result cache.
 */
public final class ReroutingProvider implements AdaptationProvider {
    @Override
    public String name() {
        return "rerouting";
    }

    @Override
    public SettingsSchema schema() {
        return ReroutingSettings.SCHEMA;
    }

    @Override
    public Requirements requirements(StrategySettings settings) {
        ReroutingSettings s = ReroutingSettings.DEFAULTS.withOverrides(settings);
        return new Requirements(s.requirements(), s.sequencesNeeded());
    }

    @Override
    public AdaptationStrategy create(ProviderContext context, StrategySettings settings) {
        return new ReroutingStrategy(ReroutingSettings.DEFAULTS.withOverrides(settings), context.cache());
    }
}
