package dev.moeadapter.core.optim;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Zeroth-order descent that never ends worse than it started: antithetic SPSA with Spall's gain
 * sequences ({@link SpsaGains}), step acceptance and the best point kept.
 * <p>
 * Each step evaluates the current point θ_k together with its 2q probes θ_k ± c_k·u_i (u_i
 * Rademacher), so the caller can run all of them as one batch: {@link #points()} returns them in
 * the order θ_k, θ_k + c_k·u_1, θ_k − c_k·u_1, …, and {@link #step(float[])} takes their losses.
 * The step from θ_k was accepted if L(θ_k) is no higher than the best loss seen; otherwise θ goes
 * back to the best point and the gain is halved (a shrinking trust region), so a wrong estimate
 * costs one step instead of starting a random walk. Accepted points move by
 * θ ← θ − a_k·w·ĝ with ĝ = (1/q)·Σ_i [L(θ+c_k·u_i) − L(θ−c_k·u_i)] / (2c_k) · u_i. Every
 * evaluated point, probes included, is a candidate for the best. {@link #settle(float)} closes a
 * run of steps with the loss of the last proposed point and returns to the best point seen, whose
 * loss is at most the first evaluated one.
 * <p>
 * The loss may change between runs (rerouting's context grows): {@link #restart()} forgets the
 * best point, while the step count (hence the gains), the gain scale and the trust carry over.
 * Directions come from a generator seeded once. Not thread-safe: one instance belongs to one request.
 */
public final class SpsaDescent {
    private static final double TRUST_SHRINK = 0.5;

    private final SpsaGains gains;
    private final float[] updateWeights;
    private final long seed;
    private final SplittableRandom random;
    /** Values drawn from {@code random} so far: a copy replays them to reach the same generator state. */
    private long draws;
    private float[] theta;
    private int steps;
    /** a_0, set from the first gradient estimate; NaN until then. */
    private double gain = Double.NaN;
    private double trust = 1;
    private float[] best;
    private double bestLoss = Double.POSITIVE_INFINITY;
    private float[][] directions;
    private int accepted;
    private int rejected;

    /**
     * @param updateWeights per-coordinate multipliers of the step (e.g. soft layer weights), each
     *                      finite and >= 0; null means 1 everywhere
     */
    public SpsaDescent(float[] initial, float[] updateWeights, SpsaGains gains, long seed) {
        this.gains = Objects.requireNonNull(gains, "gains");
        this.theta = Vectors.checkedCopy(initial, "initial parameters");
        if (theta.length == 0) {
            throw new IllegalArgumentException("the parameter vector must not be empty");
        }
        if (updateWeights == null) {
            this.updateWeights = null;
        } else {
            this.updateWeights = Vectors.checkedCopy(updateWeights, "update weights");
            Vectors.checkLength(this.updateWeights, theta.length, "update weights");
            for (float w : this.updateWeights) {
                if (w < 0) {
                    throw new IllegalArgumentException("update weights must be >= 0, got " + w);
                }
            }
        }
        this.seed = seed;
        this.random = new SplittableRandom(seed);
    }

    public SpsaDescent(float[] initial, SpsaGains gains, long seed) {
        this(initial, null, gains, seed);
    }

    private SpsaDescent(SpsaDescent o) {
        this.gains = o.gains;
        this.updateWeights = o.updateWeights;
        this.seed = o.seed;
        this.random = new SplittableRandom(seed);
        for (long i = 0; i < o.draws; i++) {
            random.nextBoolean();
        }
        this.draws = o.draws;
        this.theta = o.theta.clone();
        this.steps = o.steps;
        this.gain = o.gain;
        this.trust = o.trust;
        this.best = o.best == null ? null : o.best.clone();
        this.bestLoss = o.bestLoss;
        if (o.directions != null) {
            this.directions = new float[o.directions.length][];
            for (int i = 0; i < directions.length; i++) {
                directions[i] = o.directions[i].clone();
            }
        }
        this.accepted = o.accepted;
        this.rejected = o.rejected;
    }

    /** An independent optimiser in this one's state, which continues exactly as this one would. */
    public SpsaDescent copy() {
        return new SpsaDescent(this);
    }

    /** θ_k and its 2q probes (fresh copies); repeated calls before {@link #step} return the same points. */
    public List<float[]> points() {
        if (directions == null) {
            directions = new float[gains.directions()][];
            for (int i = 0; i < directions.length; i++) {
                float[] u = new float[theta.length];
                for (int j = 0; j < u.length; j++) {
                    u[j] = random.nextBoolean() ? 1f : -1f;
                }
                draws += u.length;
                directions[i] = u;
            }
        }
        float c = (float) gains.perturbationAt(steps);
        List<float[]> points = new ArrayList<>(gains.pointsPerStep());
        points.add(theta.clone());
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
     * Completes a step with the losses of {@link #points()}, in the same order. Returns the gradient
     * estimate ĝ at θ_k it moved along, or null when the step went back to the best point instead.
     */
    public float[] step(float[] losses) {
        if (directions == null) {
            throw new IllegalStateException("step() before points(): the losses belong to no point");
        }
        Vectors.checkLength(losses, gains.pointsPerStep(), "losses");
        Vectors.checkFinite(losses, "losses");
        List<float[]> points = points();
        boolean uphill = losses[0] > bestLoss;
        for (int i = 0; i < losses.length; i++) {
            offer(points.get(i), losses[i]);
        }
        float[] g = null;
        if (uphill) {
            theta = best.clone();
            trust *= TRUST_SHRINK;
            rejected++;
        } else {
            accepted++;
            g = move(losses);
        }
        directions = null;
        steps++;
        return g;
    }

    private float[] move(float[] losses) {
        double c = gains.perturbationAt(steps);
        double[] g = new double[theta.length];
        double scale = 1.0 / (2.0 * c * directions.length);
        for (int i = 0; i < directions.length; i++) {
            double diff = ((double) losses[1 + 2 * i] - losses[2 + 2 * i]) * scale;
            float[] u = directions[i];
            for (int j = 0; j < g.length; j++) {
                g[j] += diff * u[j];
            }
        }
        double ss = 0;
        for (double v : g) {
            ss += v * v;
        }
        double rms = Math.sqrt(ss / g.length);
        float[] estimate = new float[g.length];
        for (int j = 0; j < g.length; j++) {
            estimate[j] = (float) g[j];
        }
        if (!(rms > 0)) {
            return estimate; // every pair tied: no direction to move in
        }
        if (Double.isNaN(gain)) {
            gain = gains.step() / rms;
        }
        double a = gain * trust * gains.gainDecay(steps);
        for (int j = 0; j < theta.length; j++) {
            double w = updateWeights == null ? 1 : updateWeights[j];
            theta[j] -= (float) (a * w * g[j]);
        }
        return estimate;
    }

    /**
     * Closes a run of steps: {@code loss} is the loss of the current point (the last step's
     * proposal); θ becomes the best point seen since the last {@link #restart()}. Returns its loss.
     */
    public double settle(float loss) {
        if (!Float.isFinite(loss)) {
            throw new IllegalArgumentException("loss is not finite: " + loss);
        }
        directions = null;
        offer(theta, loss);
        theta = best.clone();
        return bestLoss;
    }

    /** Forgets the best point (the loss has changed); θ, the step count, the gains and the trust stay. */
    public void restart() {
        best = null;
        bestLoss = Double.POSITIVE_INFINITY;
        directions = null;
    }

    private void offer(float[] point, float loss) {
        if (loss < bestLoss) {
            bestLoss = loss;
            best = point.clone();
        }
    }

    /** The current θ (a copy): after {@link #settle} the best point seen. */
    public float[] parameters() {
        return theta.clone();
    }

    /** The lowest loss seen since the last {@link #restart()}; +∞ before any. */
    public double bestLoss() {
        return bestLoss;
    }

    public int steps() {
        return steps;
    }

    /** Steps whose starting point was no worse than the best seen before it. */
    public int accepted() {
        return accepted;
    }

    /** Steps that went back to the best point after their proposal turned out uphill. */
    public int rejected() {
        return rejected;
    }

    public int dimension() {
        return theta.length;
    }

    public SpsaGains gains() {
        return gains;
    }
}
