package dev.moeadapter.core.optim;

import dev.moeadapter.core.InvalidRequestException;

/**
 * Step control of {@link SpsaDescent}: Spall's gain sequences a_k = a / (k + 1 + A)^0.602 and
 * c_k = c / (k + 1)^0.101 (the asymptotically optimal exponents of "Implementation of the
 * simultaneous perturbation algorithm", 1998). The scale a is not given directly, since the
 * gradient's size depends on the model: following the same paper's guideline it is set from the
 * first gradient estimate so that the first step moves θ by {@code step} (root mean square).
 *
 * @param step         root-mean-square size of the first step, in the units of θ (logits)
 * @param perturbation c: probe size at the first step
 * @param directions   q: antithetic Rademacher probe pairs per step
 * @param stability    A: delays the decay of a_k (Spall suggests about a tenth of the steps)
 */
public record SpsaGains(float step, float perturbation, int directions, float stability) {
    public static final double GAIN_EXPONENT = 0.602;
    public static final double PERTURBATION_EXPONENT = 0.101;
    public static final float MAX_STEP = 10f;
    public static final float MAX_PERTURBATION = 5f;
    public static final int MAX_DIRECTIONS = 64;
    public static final float MAX_STABILITY = 1000f;

    public static final SpsaGains DEFAULTS = new SpsaGains(0.5f, 0.1f, 4, 2f);

    public SpsaGains {
        if (!(step > 0 && step <= MAX_STEP)) {
            throw new InvalidRequestException("SPSA first step size must be in (0, " + MAX_STEP + "] logits, got " + step);
        }
        if (!(perturbation > 0 && perturbation <= MAX_PERTURBATION)) {
            throw new InvalidRequestException("SPSA perturbation size c must be in (0, " + MAX_PERTURBATION + "] logits, got " + perturbation);
        }
        if (directions < 1 || directions > MAX_DIRECTIONS) {
            throw new InvalidRequestException("SPSA directions per step q must be in 1.." + MAX_DIRECTIONS + ", got " + directions);
        }
        if (!(stability >= 0 && stability <= MAX_STABILITY)) {
            throw new InvalidRequestException("SPSA stability constant A must be in [0, " + MAX_STABILITY + "], got " + stability);
        }
    }

    /** Loss evaluations one step needs: the current point and its 2q perturbed copies. */
    public int pointsPerStep() {
        return 1 + 2 * directions;
    }

    /** c_k. */
    public double perturbationAt(int k) {
        return perturbation / Math.pow(k + 1, PERTURBATION_EXPONENT);
    }

    /** a_k / a_0: the decay of the step gain after k steps. */
    public double gainDecay(int k) {
        return Math.pow((stability + 1.0) / (k + 1.0 + stability), GAIN_EXPONENT);
    }

    public SpsaGains withStep(float s) {
        return new SpsaGains(s, perturbation, directions, stability);
    }

    public SpsaGains withPerturbation(float c) {
        return new SpsaGains(step, c, directions, stability);
    }

    public SpsaGains withDirections(int q) {
        return new SpsaGains(step, perturbation, q, stability);
    }
}
