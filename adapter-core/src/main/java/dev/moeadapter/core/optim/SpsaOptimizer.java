package dev.moeadapter.core.optim;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Zeroth-order minimiser: batched antithetic SPSA feeding {@link Adam}.
 * <p>
 * One step is two calls, so that the caller can evaluate every probe of a step together (e.g. as
 * the sequences of one batched decode): {@link #points()} draws q Rademacher directions u_i and
 * returns θ + c·u_1, θ − c·u_1, θ + c·u_2, θ − c·u_2, …; {@link #step(float[])} takes their losses
 * in that order, forms ĝ = (1/q)·Σ_i [L(θ+c·u_i) − L(θ−c·u_i)] / (2c) · u_i and lets Adam update θ.
 * Directions come from a generator seeded once, so the same seed and losses give the same path.
 * Not thread-safe: one instance belongs to one request.
 */
public final class SpsaOptimizer {
    private final SpsaSettings settings;
    private final Adam adam;
    private final long seed;
    private final SplittableRandom random;
    /** Values drawn from {@code random} so far: a copy replays them to reach the same generator state. */
    private long draws;
    private float[][] directions;

    public SpsaOptimizer(float[] initial, float[] updateWeights, SpsaSettings settings, long seed) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.adam = new Adam(initial, updateWeights, settings.adam());
        this.seed = seed;
        this.random = new SplittableRandom(seed);
    }

    private SpsaOptimizer(SpsaOptimizer other) {
        this.settings = other.settings;
        this.adam = other.adam.copy();
        this.seed = other.seed;
        this.random = new SplittableRandom(seed);
        for (long i = 0; i < other.draws; i++) {
            random.nextBoolean();
        }
        this.draws = other.draws;
        if (other.directions != null) {
            this.directions = new float[other.directions.length][];
            for (int i = 0; i < directions.length; i++) {
                directions[i] = other.directions[i].clone();
            }
        }
    }

    public SpsaOptimizer(float[] initial, SpsaSettings settings, long seed) {
        this(initial, null, settings, seed);
    }

    /**
     * The 2q points to evaluate for the next step (fresh copies). Repeated calls before
     * {@link #step} return the same points.
     */
    public List<float[]> points() {
        if (directions == null) {
            directions = new float[settings.directions()][];
            for (int i = 0; i < directions.length; i++) {
                float[] u = new float[adam.dimension()];
                for (int j = 0; j < u.length; j++) {
                    u[j] = random.nextBoolean() ? 1f : -1f;
                }
                draws += u.length;
                directions[i] = u;
            }
        }
        float[] theta = adam.parameters();
        float c = settings.perturbation();
        List<float[]> points = new ArrayList<>(settings.pointsPerStep());
        for (float[] u : directions) {
            float[] plus = new float[theta.length];
            float[] minus = new float[theta.length];
            for (int j = 0; j < theta.length; j++) {
                plus[j] = theta[j] + c * u[j];
                minus[j] = theta[j] - c * u[j];
            }
            points.add(plus);
            points.add(minus);
        }
        return points;
    }

    /**
     * Completes a step with the losses of {@link #points()}, in the same order; updates θ and
     * returns the gradient estimate ĝ that was used.
     */
    public float[] step(float[] losses) {
        if (directions == null) {
            throw new IllegalStateException("step() before points(): the losses belong to no probe");
        }
        Vectors.checkLength(losses, settings.pointsPerStep(), "losses");
        Vectors.checkFinite(losses, "losses");
        float[] gradient = new float[adam.dimension()];
        double scale = 1.0 / (2.0 * settings.perturbation() * directions.length);
        for (int i = 0; i < directions.length; i++) {
            double diff = ((double) losses[2 * i] - losses[2 * i + 1]) * scale;
            float[] u = directions[i];
            for (int j = 0; j < gradient.length; j++) {
                gradient[j] += (float) (diff * u[j]);
            }
        }
        directions = null;
        adam.step(gradient);
        return gradient;
    }

    /**
     * An independent optimiser in this one's state: the same θ, Adam moments and step count, and the
     * same directions to come, so it continues exactly as this one would.
     */
    public SpsaOptimizer copy() {
        return new SpsaOptimizer(this);
    }

    /** The current θ (a copy). */
    public float[] parameters() {
        return adam.parameters();
    }

    public int steps() {
        return adam.steps();
    }

    public int dimension() {
        return adam.dimension();
    }

    public SpsaSettings settings() {
        return settings;
    }
}
