package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.optim.SpsaGains;

import java.util.List;
import java.util.Objects;

/** How C3PO turns the prompt's own pathway ω0 and its neighbours into the pathway it injects. */
public sealed interface Algorithm {
    /** Short name for logs, metrics and policies: "kr", "mode", "ngd". */
    String label();

    /** Candidate pathways one batched loss evaluation may hold (0: the algorithm evaluates no loss). */
    int pointsPerEvaluation();

    /**
     * Kernel regression: ω̂ = Σ K(x_i,x)·ω_i / Σ K, then ω = α·ω0 + (1−α)·ω̂ with α the candidate
     * whose pathway gives the lowest neighbour loss. One candidate means no search (the paper's
     * code uses α = 0 alone).
     */
    record KernelRegression(List<Double> alphas) implements Algorithm {
        public static final KernelRegression DEFAULTS = new KernelRegression(List.of(0.0, 0.25, 0.5, 0.75, 1.0));

        public KernelRegression {
            alphas = List.copyOf(Objects.requireNonNull(alphas, "alphas"));
            if (alphas.isEmpty()) {
                throw new InvalidRequestException("c3po kernel regression needs at least one alpha");
            }
            for (double a : alphas) {
                if (!(a >= 0 && a <= 1)) {
                    throw new InvalidRequestException("c3po kernel regression alphas must lie in [0, 1], got " + a);
                }
            }
        }

        @Override
        public String label() {
            return "kr";
        }

        @Override
        public int pointsPerEvaluation() {
            return alphas.size() == 1 ? 0 : alphas.contains(1.0) ? alphas.size() : alphas.size() + 1; // ω0 is α = 1
        }
    }

    /**
     * Mode finding (mean-shift in pathway space): ω̄ = Σ K(ω_i,ω)·ω_i / Σ K over the references
     * whose pathways lie nearest ω, ω ← α·ω + (1−α)·ω̄, {@code iterations} times, from ω0.
     *
     * @param bandwidth of the Gaussian kernel on the root-mean-square distance of pathways per critical layer
     */
    record ModeFinding(double alpha, int iterations, double bandwidth) implements Algorithm {
        public static final ModeFinding DEFAULTS = new ModeFinding(0.5, 5, 0.2);

        public ModeFinding {
            if (!(alpha >= 0 && alpha < 1)) {
                throw new InvalidRequestException("c3po mode finding alpha must lie in [0, 1), got " + alpha);
            }
            if (iterations < 1 || iterations > 1000) {
                throw new InvalidRequestException("c3po mode finding iterations must be 1..1000, got " + iterations);
            }
            if (!(bandwidth > 0) || !Double.isFinite(bandwidth)) {
                throw new InvalidRequestException("c3po mode finding bandwidth must be finite and > 0, got " + bandwidth);
            }
        }

        @Override
        public String label() {
            return "mode";
        }

        @Override
        public int pointsPerEvaluation() {
            return 0;
        }
    }

    /**
     * Neighbourhood gradient descent, zeroth order: minimises Σ K(x_i,x)·ℓ(f(x_i, ω), y_i) / Σ K
     * over the log-probabilities of the core experts from ω0, with antithetic SPSA on q directions
     * per step, Spall's gain sequences, step acceptance and the best point kept
     * ({@link dev.moeadapter.core.optim.SpsaDescent}): the pathway returned never has a higher
     * neighbour loss than ω0. One direction per step in 32–64 dimensions gives an estimate nearly
     * orthogonal to the gradient, hence q = 4 by default.
     */
    record GradientDescent(int steps, SpsaGains gains, long seed) implements Algorithm {
        public static final GradientDescent DEFAULTS = new GradientDescent(10, new SpsaGains(0.5f, 0.1f, 4, 1f), 0);

        public GradientDescent {
            if (steps < 1 || steps > 1000) {
                throw new InvalidRequestException("c3po NGD steps must be 1..1000, got " + steps);
            }
            Objects.requireNonNull(gains, "gains");
        }

        @Override
        public String label() {
            return "ngd";
        }

        @Override
        public int pointsPerEvaluation() {
            return gains.pointsPerStep();
        }

        public GradientDescent withSteps(int n) {
            return new GradientDescent(n, gains, seed);
        }

        public GradientDescent withGains(SpsaGains g) {
            return new GradientDescent(steps, g, seed);
        }
    }

    /** The algorithm named by a policy label: kr, mode or ngd, with default parameters. */
    static Algorithm byLabel(String label) {
        return switch (label) {
            case "kr" -> KernelRegression.DEFAULTS;
            case "mode" -> ModeFinding.DEFAULTS;
            case "ngd" -> GradientDescent.DEFAULTS;
            default -> throw new InvalidRequestException("unknown c3po algorithm '" + label + "' (kr, mode, ngd)");
        };
    }
}
