package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.StrategySettings;

import java.util.List;
import java.util.Objects;
import java.util.Set;

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

    public C3poSettings {
        Objects.requireNonNull(algorithm, "algorithm");
        if (neighbours < 1 || neighbours > 64) {
            throw new InvalidRequestException("c3po neighbours (k) must be 1..64, got " + neighbours);
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
        if (lossTokens < 1 || lossTokens > 64) {
            throw new InvalidRequestException("c3po loss tokens must be 1..64, got " + lossTokens);
        }
        Objects.requireNonNull(injection, "injection");
    }

    /** Settings that inject from the last prompt token on (the released code's choice). */
    public C3poSettings(Algorithm algorithm, int neighbours, double bandwidth, double duplicateSimilarity,
                        int criticalLayers, int coreExperts, int minReferences, int lossTokens) {
        this(algorithm, neighbours, bandwidth, duplicateSimilarity, criticalLayers, coreExperts, minReferences, lossTokens,
                Injection.FROM_LAST_PROMPT_TOKEN);
    }

    /** Names {@link #withOverrides} reads. */
    public static final Set<String> NAMES = Set.of("algorithm", "k", "bandwidth", "critical-layers", "core-experts", "steps", "q",
            "loss-tokens", "inject");

    /**
     * These settings with named overrides (an arm's configuration, a request's settings, command-line
     * flags): {@code algorithm (kr | kr-paper | mode | ngd), k, bandwidth, critical-layers, core-experts,
     * steps and q (NGD), loss-tokens, inject (last | from-last)}. Unknown names and bad values are refused, naming the setting.
     */
    public C3poSettings withOverrides(StrategySettings s) {
        if (s.isEmpty()) {
            return this;
        }
        s.requireOnly("c3po", NAMES);
        String label = s.stringValue("algorithm", null);
        Algorithm a = label == null ? algorithm : Algorithm.byLabel(label.trim());
        for (String ngdOnly : List.of("steps", "q")) {
            if (s.values().containsKey(ngdOnly) && !(a instanceof Algorithm.GradientDescent)) {
                throw new InvalidRequestException("c3po setting '" + ngdOnly + "' applies to algorithm ngd only, not " + a.label());
            }
        }
        if (a instanceof Algorithm.GradientDescent ngd) {
            a = ngd.withSteps(s.intValue("steps", ngd.steps())).withGains(ngd.gains().withDirections(s.intValue("q", ngd.gains().directions())));
        }
        String inject = s.stringValue("inject", null);
        return withAlgorithm(a).withNeighbours(s.intValue("k", neighbours))
                .withBandwidth(s.floatValue("bandwidth", (float) bandwidth))
                .withCriticalLayers(s.intValue("critical-layers", criticalLayers))
                .withCoreExperts(s.intValue("core-experts", coreExperts))
                .withLossTokens(s.intValue("loss-tokens", lossTokens))
                .withInjection(inject == null ? injection : Injection.parse(inject));
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
