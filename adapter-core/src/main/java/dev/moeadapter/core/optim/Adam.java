package dev.moeadapter.core.optim;

import dev.moeadapter.core.InvalidRequestException;

import java.util.Objects;

/**
 * Adam on a parameter vector it owns. Moments and the step count persist across {@link #step}
 * calls, so one instance carries the optimiser state of a whole request.
 */
public final class Adam {
    private final AdamSettings settings;
    private final float[] theta;
    private final float[] updateWeights;
    private final double[] m;
    private final double[] v;
    private int t;

    /**
     * @param updateWeights per-coordinate multipliers of the update (e.g. soft layer weights), each
     *                      finite and >= 0; null means 1 everywhere
     */
    public Adam(float[] initial, float[] updateWeights, AdamSettings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.theta = Vectors.checkedCopy(initial, "initial parameters");
        if (theta.length == 0) {
            throw new InvalidRequestException("the parameter vector must not be empty");
        }
        if (updateWeights == null) {
            this.updateWeights = null;
        } else {
            this.updateWeights = Vectors.checkedCopy(updateWeights, "update weights");
            Vectors.checkLength(this.updateWeights, theta.length, "update weights");
            for (float w : this.updateWeights) {
                if (w < 0) {
                    throw new InvalidRequestException("update weights must be >= 0, got " + w);
                }
            }
        }
        this.m = new double[theta.length];
        this.v = new double[theta.length];
    }

    public Adam(float[] initial, AdamSettings settings) {
        this(initial, null, settings);
    }

    private Adam(Adam other) {
        this.settings = other.settings;
        this.theta = other.theta.clone();
        this.updateWeights = other.updateWeights == null ? null : other.updateWeights.clone();
        this.m = other.m.clone();
        this.v = other.v.clone();
        this.t = other.t;
    }

    /** An independent optimiser in this one's state (parameters, moments, step count). */
    public Adam copy() {
        return new Adam(this);
    }

    /** Applies one update for {@code gradient}; returns the new parameters (a copy). */
    public float[] step(float[] gradient) {
        Vectors.checkLength(gradient, theta.length, "gradient");
        Vectors.checkFinite(gradient, "gradient");
        t++;
        double b1 = settings.beta1();
        double b2 = settings.beta2();
        double correction1 = 1 - Math.pow(b1, t);
        double correction2 = 1 - Math.pow(b2, t);
        for (int i = 0; i < theta.length; i++) {
            m[i] = b1 * m[i] + (1 - b1) * gradient[i];
            v[i] = b2 * v[i] + (1 - b2) * gradient[i] * gradient[i];
            double update = settings.learningRate() * (m[i] / correction1) / (Math.sqrt(v[i] / correction2) + settings.epsilon());
            theta[i] -= (float) (updateWeights == null ? update : updateWeights[i] * update);
        }
        return theta.clone();
    }

    public float[] parameters() {
        return theta.clone();
    }

    /** Updates applied so far. */
    public int steps() {
        return t;
    }

    public int dimension() {
        return theta.length;
    }
}
