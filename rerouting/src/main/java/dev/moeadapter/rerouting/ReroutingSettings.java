package dev.moeadapter.rerouting;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.optim.SpsaSettings;

import java.util.Objects;
import java.util.Set;

/**
 * Continuous rerouting ("Rewiring Experts on the Fly"): per request, router deltas on the selected
 * MoE layers, optimised to lower the context's next-token NLL at prefill and every
 * {@code interval} generated tokens, {@code steps} zeroth-order steps per round.
 *
 * @param steps            optimisation steps per round (n; 0 turns rerouting off)
 * @param interval         generated tokens between rounds (m)
 * @param spsa             perturbation size c, probe pairs q per step, Adam learning rate
 * @param layers           hard top-r layers by C_l, or soft weighting by C_l
 * @param parameterisation full δ, δ on the top experts by context usage, or one scalar per layer
 * @param window           how many of the context's most recent next-token losses a round measures
 *                         (0 = all, the paper's loss); with a window the earlier tokens stay decoded
 *                         under the deltas of the round's start and are shared by the perturbed copies
 *                         (a KV copy), so a round costs O(window) instead of O(context)
 * @param seed             seed of the perturbation directions; the same for every request, so a
 *                         request's answer is reproducible
 */
public record ReroutingSettings(int steps, int interval, SpsaSettings spsa, LayerSelection layers,
                                Parameterisation parameterisation, int window, long seed) {
    /** Most steps one round may take: each is a batched decode of 2q copies of the context. */
    public static final int MAX_STEPS = 100;

    public static final ReroutingSettings DEFAULTS = new ReroutingSettings(5, 128,
            SpsaSettings.DEFAULTS, new LayerSelection.Top(0.25), new Parameterisation.LayerScalar(), 0, 0);

    public ReroutingSettings {
        if (steps < 0 || steps > MAX_STEPS) {
            throw new InvalidRequestException("rerouting steps per round must be in 0.." + MAX_STEPS + ", got " + steps);
        }
        if (interval < 1) {
            throw new InvalidRequestException("rerouting interval (generated tokens between rounds) must be >= 1, got " + interval);
        }
        if (window < 0) {
            throw new InvalidRequestException("rerouting loss window must be >= 0 (0 = the whole context), got " + window);
        }
        Objects.requireNonNull(spsa, "spsa");
        Objects.requireNonNull(layers, "layers");
        Objects.requireNonNull(parameterisation, "parameterisation");
    }

    /** Sequences of a session one request uses: the answer and the 2q perturbed copies. */
    public int sequencesNeeded() {
        return 1 + spsa.pointsPerStep();
    }

    /** Names {@link #withOverrides} reads: steps, interval, c, q, lr, layers, param, window, seed. */
    public static final Set<String> NAMES = Set.of("steps", "interval", "c", "q", "lr", "layers", "param", "window", "seed");

    /**
     * These settings with named overrides (an arm's configuration, a request's settings, command-line
     * flags): {@code steps, interval, c, q, lr, layers (top:R | soft), param (full | scalar | top:M),
     * window, seed}. Unknown names and bad values are refused, naming the setting.
     */
    public ReroutingSettings withOverrides(StrategySettings s) {
        if (s.isEmpty()) {
            return this;
        }
        s.requireOnly("rerouting", NAMES);
        SpsaSettings sp = new SpsaSettings(s.floatValue("c", spsa.perturbation()), s.intValue("q", spsa.directions()),
                spsa.adam().withLearningRate(s.floatValue("lr", spsa.adam().learningRate())));
        String l = s.stringValue("layers", null), p = s.stringValue("param", null);
        return new ReroutingSettings(s.intValue("steps", steps), s.intValue("interval", interval), sp,
                l == null ? layers : LayerSelection.parse(l), p == null ? parameterisation : Parameterisation.parse(p),
                s.intValue("window", window), s.intValue("seed", (int) seed));
    }

    public ReroutingSettings withSteps(int n) {
        return new ReroutingSettings(n, interval, spsa, layers, parameterisation, window, seed);
    }

    public ReroutingSettings withInterval(int m) {
        return new ReroutingSettings(steps, m, spsa, layers, parameterisation, window, seed);
    }

    public ReroutingSettings withSpsa(SpsaSettings s) {
        return new ReroutingSettings(steps, interval, s, layers, parameterisation, window, seed);
    }

    public ReroutingSettings withLayers(LayerSelection l) {
        return new ReroutingSettings(steps, interval, spsa, l, parameterisation, window, seed);
    }

    public ReroutingSettings withParameterisation(Parameterisation p) {
        return new ReroutingSettings(steps, interval, spsa, layers, p, window, seed);
    }

    public ReroutingSettings withWindow(int w) {
        return new ReroutingSettings(steps, interval, spsa, layers, parameterisation, w, seed);
    }

    public ReroutingSettings withSeed(long s) {
        return new ReroutingSettings(steps, interval, spsa, layers, parameterisation, window, s);
    }
}
