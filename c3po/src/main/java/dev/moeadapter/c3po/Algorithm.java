package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.optim.SpsaGains;

import java.util.List;
import java.util.Objects;

/** How C3PO turns the prompt's own pathway ω0 and its neighbours into the pathway it injects. */
public sealed interface Algorithm {
    /** Short name for logs, metrics and policies: "kr", "kr-paper", "mode", "ngd". */
    String label();

    /** Candidate pathways one batched loss evaluation may hold (0: the algorithm evaluates no loss). */
    int pointsPerEvaluation();

    /** Whether references more similar to the prompt than the duplicate threshold are left out. */
    default boolean leavesOutNearDuplicates() {
        return true;
    }

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
     * Kernel regression as the paper's released code computes it ({@code re_infer_case} in
     * tianyi-lab/C3PO): the k nearest references by cosine, near-duplicates included, weighted by
     * their raw cosine similarity; in each critical layer the weighted mean of their pathways over
     * all experts (no core-expert restriction), divided by its sum; α = 0 (no search).
     */
    record PaperKernelRegression() implements Algorithm {
        @Override
        public String label() {
            return "kr-paper";
        }

        @Override
        public int pointsPerEvaluation() {
            return 0;
        }

        @Override
        public boolean leavesOutNearDuplicates() {
            return false;
        }

        /**
         * ω_l = (Σ_i s_i·ω_{i,l} / Σ_i s_i) / sum, per layer l.
         *
         * @param neighbourRows per neighbour, its pathway rows (layers × experts)
         * @param similarities  per neighbour, its cosine similarity to the prompt
         * @return null when the similarities do not sum to a positive number
         */
        static float[][] combine(List<float[][]> neighbourRows, double[] similarities) {
            double total = 0;
            for (double s : similarities) {
                total += s;
            }
            if (!(total > 0)) {
                return null;
            }
            float[][] first = neighbourRows.getFirst();
            float[][] out = new float[first.length][first[0].length];
            for (int l = 0; l < out.length; l++) {
                double[] row = new double[out[l].length];
                double sum = 0;
                for (int e = 0; e < row.length; e++) {
                    for (int i = 0; i < similarities.length; i++) {
                        row[e] += similarities[i] * neighbourRows.get(i)[l][e];
                    }
                    row[e] /= total;
                    sum += row[e];
                }
                for (int e = 0; e < row.length; e++) {
                    out[l][e] = (float) (row[e] / sum);
                }
            }
            return out;
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
        public static final int MAX_STEPS = 1000;

        public GradientDescent {
            if (steps < 1 || steps > MAX_STEPS) {
                throw new InvalidRequestException("c3po NGD steps must be 1.." + MAX_STEPS + ", got " + steps);
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
    /** The labels {@link #byLabel} reads. */
    List<String> LABELS = List.of("kr", "kr-paper", "mode", "ngd");

    static Algorithm byLabel(String label) {
        return switch (label) {
            case "kr" -> KernelRegression.DEFAULTS;
            case "kr-paper" -> new PaperKernelRegression();
            case "mode" -> ModeFinding.DEFAULTS;
            case "ngd" -> GradientDescent.DEFAULTS;
            default -> throw new InvalidRequestException("unknown c3po algorithm '" + label + "' (kr, kr-paper, mode, ngd)");
        };
    }
}
