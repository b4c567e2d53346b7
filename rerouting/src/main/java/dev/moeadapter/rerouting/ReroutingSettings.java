package dev.moeadapter.rerouting;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.ModelRequirements;
import dev.moeadapter.core.adaptation.SettingSpec;
import dev.moeadapter.core.adaptation.SettingSpec.Range;
import dev.moeadapter.core.adaptation.SettingsSchema;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.optim.SpsaGains;

import java.util.Objects;

/**
 * Continuous rerouting ("Rewiring Experts on the Fly"): per request, router deltas on the selected
 * MoE layers, optimised to lower the context's next-token NLL at prefill and every
 * {@code interval} generated tokens, {@code steps} zeroth-order steps per round. A round keeps the
 * best point it evaluated, so it never ends with a higher context loss than it started with.
 *
 * @param steps            optimisation steps per round (n; 0 turns rerouting off)
 * @param interval         generated tokens between rounds (m)
 * @param gains            SPSA step control: first step size, perturbation size c, probe pairs q
 *                         per step, stability constant A of the gain sequences
 * @param layers           hard top-r layers by C_l, or soft weighting by C_l
 * @param parameterisation full δ, δ on the top experts by context usage, or one scalar per layer
 * @param window           how many of the context's most recent next-token losses a round measures
 *                         (0 = all, the paper's loss); with a window the earlier tokens stay decoded
 *                         under the deltas of the round's start and are shared by the perturbed copies
 *                         (a KV copy), so a round costs O(window) instead of O(context)
 * @param seed             seed of the perturbation directions; the same for every request, so a
 *                         request's answer is reproducible
 */
public record ReroutingSettings(int steps, int interval, SpsaGains gains, LayerSelection layers,
                                Parameterisation parameterisation, int window, long seed) {
    /** Most steps one round may take: each is a batched decode of 2q copies of the context. */
    public static final int MAX_STEPS = 100;
    public static final int MAX_INTERVAL = 1 << 20;
    public static final int MAX_WINDOW = 1 << 20;

    /**
     * Full δ_l, so that probability can move to experts the context does not use, on every MoE
     * layer: C_l does not rank the layers where a delta helps (mean Spearman with the router
     * oracle's per-layer gain between −0.20 and +0.14 on the lab v2 models, 0.137 on a v3 pilot;
     * {@code ./moe lab rerouting}, README "Which layers"), so choosing layers by it has no support.
     */
    public static final ReroutingSettings DEFAULTS = new ReroutingSettings(5, 128,
            SpsaGains.DEFAULTS, new LayerSelection.Top(1.0), new Parameterisation.Full(), 0, 0);

    public ReroutingSettings {
        if (steps < 0 || steps > MAX_STEPS) {
            throw new InvalidRequestException("rerouting steps per round must be in 0.." + MAX_STEPS + ", got " + steps);
        }
        if (interval < 1 || interval > MAX_INTERVAL) {
            throw new InvalidRequestException("rerouting interval (generated tokens between rounds) must be in 1.." + MAX_INTERVAL + ", got " + interval);
        }
        if (window < 0 || window > MAX_WINDOW) {
            throw new InvalidRequestException("rerouting loss window must be in 0.." + MAX_WINDOW + " (0 = the whole context), got " + window);
        }
        Objects.requireNonNull(gains, "gains");
        Objects.requireNonNull(layers, "layers");
        Objects.requireNonNull(parameterisation, "parameterisation");
    }

    /**
     * Router deltas on every family the engine edits. Over the whole context a round only ever
     * empties and re-decodes whole sequences; a loss window shares a prefix between the copies,
     * which only an attention memory can.
     */
    public ModelRequirements requirements() {
        if (window == 0) {
            return ModelRequirements.routerEdits("rerouting");
        }
        return ModelRequirements.routerEdits("rerouting with a loss window").rollingBackPrefixes("shares the context's older tokens "
                + "between its perturbed copies (a KV copy of a prefix) and cuts the copies back to that prefix at every step", "window");
    }

    /** Sequences of a session one request uses: the answer, the context under the current δ and its 2q perturbed copies. */
    public int sequencesNeeded() {
        return 1 + gains.pointsPerStep();
    }

    /** The settings an arm, a request or a flag may give, with {@link #DEFAULTS}' values as defaults. */
    public static final SettingsSchema SCHEMA = SettingsSchema.of("rerouting",
            SettingSpec.integer("steps", Range.closed(0, MAX_STEPS), DEFAULTS.steps(),
                    "Optimisation steps per round (0 = plain generation)."),
            SettingSpec.integer("interval", Range.closed(1, MAX_INTERVAL), DEFAULTS.interval(),
                    "Generated tokens between rounds."),
            SettingSpec.number("c", Range.above(0, SpsaGains.MAX_PERTURBATION), DEFAULTS.gains().perturbation(),
                    "SPSA probe size c at the first step, in logits."),
            SettingSpec.integer("q", Range.closed(1, SpsaGains.MAX_DIRECTIONS), DEFAULTS.gains().directions(),
                    "Antithetic probe pairs per step; a request uses 2 + 2q sequences."),
            SettingSpec.number("step", Range.above(0, SpsaGains.MAX_STEP), DEFAULTS.gains().step(),
                    "Root-mean-square size of the first step, in logits."),
            SettingSpec.number("stability", Range.closed(0, SpsaGains.MAX_STABILITY), DEFAULTS.gains().stability(),
                    "Stability constant A of the gain sequence a_k = a / (k + 1 + A)^0.602: delays the decay of the step gain."),
            SettingSpec.text("layers", LayerSelection.FORM, "top:R | soft", DEFAULTS.layers().label(),
                    "The top fraction R in (0, 1] of MoE layers by routing uncertainty C_l, or every layer weighted by its normalised C_l."),
            SettingSpec.text("param", Parameterisation.FORM, "full | scalar | top:M", DEFAULTS.parameterisation().label(),
                    "Router deltas free per expert, one scalar per layer along the context's own routing, or free on the context's M most used experts (M at most the model's experts)."),
            SettingSpec.integer("window", Range.closed(0, MAX_WINDOW), DEFAULTS.window(),
                    "Newest next-token losses a round measures (0 = the whole context); older tokens are shared by the copies."),
            SettingSpec.integer("seed", Range.closed(Integer.MIN_VALUE, Integer.MAX_VALUE), DEFAULTS.seed(),
                    "Seed of the perturbation directions, the same for every request, so answers are reproducible."));

    /**
     * These settings with those given (an arm's, a request's, command-line flags; see {@link #SCHEMA})
     * applied on top; unknown names and bad values are refused, naming the setting.
     */
    public ReroutingSettings withOverrides(StrategySettings s) {
        SettingsSchema.Values v = SCHEMA.parse(s);
        if (v.isEmpty()) {
            return this;
        }
        SpsaGains g = new SpsaGains((float) v.number("step", gains.step()), (float) v.number("c", gains.perturbation()),
                v.integer("q", gains.directions()), (float) v.number("stability", gains.stability()));
        String l = v.text("layers", null), p = v.text("param", null);
        return new ReroutingSettings(v.integer("steps", steps), v.integer("interval", interval), g,
                l == null ? layers : LayerSelection.parse(l), p == null ? parameterisation : Parameterisation.parse(p),
                v.integer("window", window), v.longInteger("seed", seed));
    }

    public ReroutingSettings withSteps(int n) {
        return new ReroutingSettings(n, interval, gains, layers, parameterisation, window, seed);
    }

    public ReroutingSettings withInterval(int m) {
        return new ReroutingSettings(steps, m, gains, layers, parameterisation, window, seed);
    }

    public ReroutingSettings withGains(SpsaGains g) {
        return new ReroutingSettings(steps, interval, g, layers, parameterisation, window, seed);
    }

    public ReroutingSettings withLayers(LayerSelection l) {
        return new ReroutingSettings(steps, interval, gains, l, parameterisation, window, seed);
    }

    public ReroutingSettings withParameterisation(Parameterisation p) {
        return new ReroutingSettings(steps, interval, gains, layers, p, window, seed);
    }

    public ReroutingSettings withWindow(int w) {
        return new ReroutingSettings(steps, interval, gains, layers, parameterisation, w, seed);
    }

    public ReroutingSettings withSeed(long s) {
        return new ReroutingSettings(steps, interval, gains, layers, parameterisation, window, s);
    }
}
