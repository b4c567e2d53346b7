package dev.moeadapter.core.adaptation;

/** Plain generation ({@code none}): the model's own routing; no settings, any model, one sequence. */
public final class PlainGenerationProvider implements AdaptationProvider {
    private static final SettingsSchema SCHEMA = SettingsSchema.none("none");

    @Override
    public String name() {
        return "none";
    }

    @Override
    public SettingsSchema schema() {
        return SCHEMA;
    }

    @Override
    public Requirements requirements(StrategySettings settings) {
        SCHEMA.parse(settings);
        return new Requirements(ModelRequirements.none("none"), 1);
    }

    @Override
    public AdaptationStrategy create(ProviderContext context, StrategySettings settings) {
        SCHEMA.parse(settings);
        return new PlainGeneration();
    }
}
