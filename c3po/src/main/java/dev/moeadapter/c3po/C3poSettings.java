package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.SettingSpec;
import dev.moeadapter.core.adaptation.SettingSpec.Range;
import dev.moeadapter.core.adaptation.SettingsSchema;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.optim.SpsaGains;

import java.util.List;
import java.util.Objects;

/**
 * C3PO settings (paper defaults where the paper has them).
 *
 * @param algorithm            kernel regression, mode finding or NGD (the paper's best)
 * @param neighbours           k nearest references by cosine of embeddings (3)
 * @param bandwidth            of the Gaussian kernel on embeddings, K = exp(−‖a−b‖²/(2h²)) for unit vectors
 * @param duplicateSimilarity  references more similar than this to the prompt are left out (0.95)
 * @param criticalLayers       the last this-many MoE layers are re-mixed (5); clamped to the model's
 * @param coreExperts          per critical layer, only the prompt's own top-n experts change (20); clamped
 * @param minReferences        a reference set smaller than this leaves the base model's routing in place
 * @param lossTokens           at most this many answer tokens of each neighbour are scored by the
 *                             neighbour loss (8): the positions the injected pathway acts on
 * @param injection            where ω replaces the router distribution: the last prompt token only,
 *                             or from it on (the released code's, the default); the neighbour loss
 *                             injects it the same way
 */
public record C3poSettings(Algorithm algorithm, int neighbours, double bandwidth, double duplicateSimilarity,
                           int criticalLayers, int coreExperts, int minReferences, int lossTokens, Injection injection) {
    public static final C3poSettings DEFAULTS = new C3poSettings(Algorithm.GradientDescent.DEFAULTS, 3, 0.5, 0.95, 5, 20, 3, 8,
            Injection.FROM_LAST_PROMPT_TOKEN);
    public static final int MAX_NEIGHBOURS = 64;
    public static final int MAX_LOSS_TOKENS = 64;

    public C3poSettings {
        Objects.requireNonNull(algorithm, "algorithm");
        if (neighbours < 1 || neighbours > MAX_NEIGHBOURS) {
            throw new InvalidRequestException("c3po neighbours (k) must be 1.." + MAX_NEIGHBOURS + ", got " + neighbours);
        }
        if (!(bandwidth > 0) || !Double.isFinite(bandwidth)) {
            throw new InvalidRequestException("c3po kernel bandwidth must be finite and > 0, got " + bandwidth);
        }
        if (!(duplicateSimilarity > -1 && duplicateSimilarity <= 1)) {
            throw new InvalidRequestException("c3po near-duplicate similarity must lie in (-1, 1], got " + duplicateSimilarity);
        }
        if (criticalLayers < 1) {
            throw new InvalidRequestException("c3po critical layers must be >= 1, got " + criticalLayers);
        }
        if (coreExperts < 1) {
            throw new InvalidRequestException("c3po core experts must be >= 1, got " + coreExperts);
        }
        if (minReferences < 1) {
            throw new InvalidRequestException("c3po minimum reference count must be >= 1, got " + minReferences);
        }
        if (lossTokens < 1 || lossTokens > MAX_LOSS_TOKENS) {
            throw new InvalidRequestException("c3po loss tokens must be 1.." + MAX_LOSS_TOKENS + ", got " + lossTokens);
        }
        Objects.requireNonNull(injection, "injection");
    }

    /** Settings that inject from the last prompt token on (the released code's choice). */
    public C3poSettings(Algorithm algorithm, int neighbours, double bandwidth, double duplicateSimilarity,
                        int criticalLayers, int coreExperts, int minReferences, int lossTokens) {
        this(algorithm, neighbours, bandwidth, duplicateSimilarity, criticalLayers, coreExperts, minReferences, lossTokens,
                Injection.FROM_LAST_PROMPT_TOKEN);
    }

    /**
     * The settings an arm, a request, a flag or the starter's {@code moe.adapter.c3po.*} properties may
     * give, with {@link #DEFAULTS}' values (NGD's from {@link Algorithm.GradientDescent#DEFAULTS}) as defaults.
     */
    public static final SettingsSchema SCHEMA = SettingsSchema.of("c3po",
            SettingSpec.choice("algorithm", Algorithm.LABELS, DEFAULTS.algorithm().label(),
                    "Kernel regression, the released code's kernel regression, mode finding, or neighbourhood gradient descent."),
            SettingSpec.integer("k", Range.closed(1, MAX_NEIGHBOURS), DEFAULTS.neighbours(),
                    "Nearest references by cosine of embeddings whose pathways are re-mixed."),
            SettingSpec.number("bandwidth", Range.greaterThan(0), DEFAULTS.bandwidth(),
                    "Bandwidth h of the Gaussian kernel exp(-|a - b|^2 / (2 h^2)) on unit embeddings."),
            SettingSpec.number("duplicate-similarity", Range.above(-1, 1), DEFAULTS.duplicateSimilarity(),
                    "References more similar than this to the prompt are left out as near-duplicates."),
            SettingSpec.integer("critical-layers", Range.atLeast(1), DEFAULTS.criticalLayers(),
                    "The last this-many MoE layers are re-mixed (clamped to the model's)."),
            SettingSpec.integer("core-experts", Range.atLeast(1), DEFAULTS.coreExperts(),
                    "Per critical layer, only the prompt's own top-n experts change (clamped to the model's)."),
            SettingSpec.integer("min-references", Range.atLeast(1), DEFAULTS.minReferences(),
                    "A reference set smaller than this keeps the base model's routing."),
            SettingSpec.integer("steps", Range.closed(1, Algorithm.GradientDescent.MAX_STEPS), Algorithm.GradientDescent.DEFAULTS.steps(),
                    "NGD's optimisation steps (algorithm ngd only)."),
            SettingSpec.integer("q", Range.closed(1, SpsaGains.MAX_DIRECTIONS), Algorithm.GradientDescent.DEFAULTS.gains().directions(),
                    "NGD's antithetic probe directions per step (algorithm ngd only)."),
            SettingSpec.integer("loss-tokens", Range.closed(1, MAX_LOSS_TOKENS), DEFAULTS.lossTokens(),
                    "At most this many answer tokens of each neighbour are scored by the neighbour loss."),
            SettingSpec.choice("inject", Injection.LABELS, DEFAULTS.injection().label(),
                    "Where the pathway replaces the router distribution: the last prompt token only, or from it on."));

    /**
     * These settings with those given (an arm's, a request's, command-line flags, the starter's
     * properties; see {@link #SCHEMA}) applied on top. Unknown names and bad values are refused,
     * naming the setting.
     */
    public C3poSettings withOverrides(StrategySettings s) {
        SettingsSchema.Values v = SCHEMA.parse(s);
        if (v.isEmpty()) {
            return this;
        }
        String label = v.text("algorithm", null);
        Algorithm a = label == null ? algorithm : Algorithm.byLabel(label);
        for (String ngdOnly : List.of("steps", "q")) {
            if (v.has(ngdOnly) && !(a instanceof Algorithm.GradientDescent)) {
                throw new InvalidRequestException("c3po setting '" + ngdOnly + "' applies to algorithm ngd only, not " + a.label());
            }
        }
        if (a instanceof Algorithm.GradientDescent ngd) {
            a = ngd.withSteps(v.integer("steps", ngd.steps())).withGains(ngd.gains().withDirections(v.integer("q", ngd.gains().directions())));
        }
        String inject = v.text("inject", null);
        return new C3poSettings(a, v.integer("k", neighbours), v.number("bandwidth", bandwidth),
                v.number("duplicate-similarity", duplicateSimilarity), v.integer("critical-layers", criticalLayers),
                v.integer("core-experts", coreExperts), v.integer("min-references", minReferences), v.integer("loss-tokens", lossTokens),
                inject == null ? injection : Injection.parse(inject));
    }

    public C3poSettings withAlgorithm(Algorithm a) {
        return new C3poSettings(a, neighbours, bandwidth, duplicateSimilarity, criticalLayers, coreExperts, minReferences, lossTokens, injection);
    }

    public C3poSettings withNeighbours(int k) {
        return new C3poSettings(algorithm, k, bandwidth, duplicateSimilarity, criticalLayers, coreExperts, minReferences, lossTokens, injection);
    }

    public C3poSettings withBandwidth(double h) {
        return new C3poSettings(algorithm, neighbours, h, duplicateSimilarity, criticalLayers, coreExperts, minReferences, lossTokens, injection);
    }

    public C3poSettings withDuplicateSimilarity(double s) {
        return new C3poSettings(algorithm, neighbours, bandwidth, s, criticalLayers, coreExperts, minReferences, lossTokens, injection);
    }

    public C3poSettings withCriticalLayers(int n) {
        return new C3poSettings(algorithm, neighbours, bandwidth, duplicateSimilarity, n, coreExperts, minReferences, lossTokens, injection);
    }

    public C3poSettings withCoreExperts(int n) {
        return new C3poSettings(algorithm, neighbours, bandwidth, duplicateSimilarity, criticalLayers, n, minReferences, lossTokens, injection);
    }

    public C3poSettings withMinReferences(int n) {
        return new C3poSettings(algorithm, neighbours, bandwidth, duplicateSimilarity, criticalLayers, coreExperts, n, lossTokens, injection);
    }

    public C3poSettings withInjection(Injection i) {
        return new C3poSettings(algorithm, neighbours, bandwidth, duplicateSimilarity, criticalLayers, coreExperts, minReferences, lossTokens, i);
    }

    public C3poSettings withLossTokens(int n) {
        return new C3poSettings(algorithm, neighbours, bandwidth, duplicateSimilarity, criticalLayers, coreExperts, minReferences, n, injection);
    }

    /**
     * Sequences of a session one request needs: the answer, and one per neighbour and candidate
     * pathway of a batched loss evaluation (a session with fewer evaluates in several decodes).
     */
    public int sequencesNeeded() {
        return 1 + neighbours * Math.max(1, algorithm.pointsPerEvaluation());
    }
}
