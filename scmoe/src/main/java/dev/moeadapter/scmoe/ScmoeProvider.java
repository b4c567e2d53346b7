package dev.moeadapter.scmoe;

import dev.moeadapter.core.adaptation.AdaptationProvider;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.ProviderContext;
import dev.moeadapter.core.adaptation.SettingsSchema;
import dev.moeadapter.core.adaptation.StrategySettings;

/** SCMoE as a plug-in: settings {@link ScmoeSettings#SCHEMA}, a strong and a weak view per request. */
public final class ScmoeProvider implements AdaptationProvider {
    @Override
    public String name() {
        return "scmoe";
    }

    @Override
    public SettingsSchema schema() {
        return ScmoeSettings.SCHEMA;
    }

    @Override
    public Requirements requirements(StrategySettings settings) {
        ScmoeStrategy s = new ScmoeStrategy(ScmoeSettings.DEFAULTS.withOverrides(settings));
        return new Requirements(s.requirements(), s.sequencesNeeded());
    }

    @Override
    public AdaptationStrategy create(ProviderContext context, StrategySettings settings) {
        return new ScmoeStrategy(ScmoeSettings.DEFAULTS.withOverrides(settings));
    }
}
