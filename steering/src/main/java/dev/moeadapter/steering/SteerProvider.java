package dev.moeadapter.steering;

import dev.moeadapter.core.adaptation.AdaptationProvider;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.ProviderContext;
import dev.moeadapter.core.adaptation.SettingsSchema;
import dev.moeadapter.core.adaptation.StrategySettings;

/**
 * Steering as a plug-in: settings {@link SteeringSettings#SCHEMA}, one sequence per request. Steering
 * files come from the host's {@link SteeringDirectory}, where it has one.
 */
public final class SteerProvider implements AdaptationProvider {
    @Override
    public String name() {
        return "steer";
    }

    @Override
    public SettingsSchema schema() {
        return SteeringSettings.SCHEMA;
    }

    @Override
    public Requirements requirements(StrategySettings settings) {
        SteeringSettings.SCHEMA.parse(settings);
        return new Requirements(SteerStrategy.REQUIREMENTS, 1);
    }

    @Override
    public AdaptationStrategy create(ProviderContext context, StrategySettings settings) {
        SteeringDirectory dir = context.lookup(SteeringDirectory.class).orElse(null);
        return new SteerStrategy(SteeringSettings.DEFAULTS, dir == null ? null : dir.path()).withSettings(settings);
    }
}
