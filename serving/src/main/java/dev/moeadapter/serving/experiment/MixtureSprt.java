package dev.moeadapter.serving.experiment;

/**
 * The mixture sequential probability ratio test (mSPRT) of Johari, Koomen, Pekelis and Walsh,
 * "Always Valid Inference: Continuous Monitoring of A/B Tests" (Operations Research, 2022), for the
 * difference θ = μ_arm − μ_control of two means of outcomes in [0, 1] (correct rates, scores).
 *
 * <p>With θ̂ the difference of the sample means and V = s²_arm/n_arm + s²_control/n_control its
 * estimated variance, the likelihood ratio of θ ~ N(0, τ²) against θ = 0 is
 * Λ = √(V/(V+τ²)) · exp(τ²θ̂² / (2V(V+τ²))). Under no difference Λ is (asymptotically) a martingale
 * with mean 1, so by Ville's inequality it exceeds 1/α at any time, ever, with probability at most
 * α: the report may be read after every outcome and a difference is declared only when Λ ≥ 1/α.
 * Equivalently θ̂ ± √(V(V+τ²)/τ² · (2 ln(1/α) + ln((V+τ²)/V))) is a confidence sequence for θ, and
 * 1/Λ an always-valid p-value. The normal approximation needs some outcomes on both sides, so no
 * decision is taken before {@code minPerArm} outcomes on each.
 *
 * @param mixtureSd τ, the spread of the differences the test is tuned to find (on the [0, 1] scale)
 * @param minPerArm outcomes each side needs before any decision
 */
public record MixtureSprt(double mixtureSd, long minPerArm) {
    /** Tuned to differences of about ten points of a rate; 30 outcomes a side before deciding. */
    public static final MixtureSprt DEFAULT = new MixtureSprt(0.1, 30);

    public MixtureSprt {
        if (!(mixtureSd > 0) || minPerArm < 2) {
            throw new IllegalArgumentException("mixtureSd must be > 0 and minPerArm >= 2");
        }
    }

    /** What the data say so far. */
    public enum Decision {
        /** fewer than {@code minPerArm} outcomes on a side */
        NOT_ENOUGH_DATA,
        /** no difference shown yet: keep collecting */
        CONTINUE,
        /** the arm's mean is higher than the control's */
        ARM_HIGHER,
        /** the arm's mean is lower than the control's */
        ARM_LOWER
    }

    /**
     * @param difference      θ̂, the arm's mean minus the control's (null without data on both sides)
     * @param sequence        the always-valid (1 − α) confidence sequence for θ at this look
     * @param likelihoodRatio Λ
     * @param pValue          min(1, 1/Λ): always valid
     */
    public record Result(Double difference, Interval sequence, Double likelihoodRatio, Double pValue, Decision decision) {
    }

    public Result compare(Sample control, Sample arm, double alpha) {
        if (!(alpha > 0 && alpha < 1)) {
            throw new IllegalArgumentException("alpha must be in (0, 1), got " + alpha);
        }
        if (control.n() < 2 || arm.n() < 2) {
            return new Result(control.n() > 0 && arm.n() > 0 ? arm.mean() - control.mean() : null, null, null, null,
                    Decision.NOT_ENOUGH_DATA);
        }
        double theta = arm.mean() - control.mean();
        double v = arm.variance() / arm.n() + control.variance() / control.n();
        boolean enough = control.n() >= minPerArm && arm.n() >= minPerArm;
        if (v == 0) { // every outcome the same on both sides: nothing varies, nothing to conclude
            return new Result(theta, null, null, null, enough ? Decision.CONTINUE : Decision.NOT_ENOUGH_DATA);
        }
        double tau2 = mixtureSd * mixtureSd;
        double logLambda = 0.5 * Math.log(v / (v + tau2)) + tau2 * theta * theta / (2 * v * (v + tau2));
        double radius = Math.sqrt(v * (v + tau2) / tau2 * (2 * Math.log(1 / alpha) + Math.log((v + tau2) / v)));
        double lambda = Math.exp(logLambda);
        Decision decision = !enough ? Decision.NOT_ENOUGH_DATA
                : logLambda < Math.log(1 / alpha) ? Decision.CONTINUE
                : theta > 0 ? Decision.ARM_HIGHER : Decision.ARM_LOWER;
        // a difference of two means in [0, 1] lies in [-1, 1]: a wider sequence says no more
        Interval sequence = new Interval(Math.max(-1, theta - radius), Math.min(1, theta + radius));
        return new Result(theta, sequence, lambda, Math.min(1, Math.exp(-logLambda)), decision);
    }
}
