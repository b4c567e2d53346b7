package dev.moeadapter.serving.experiment;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

/**
 * The sequential test's promises, by simulation with fixed seeds: under no difference, looking after
 * every 50 outcomes declares a winner in at most the nominal 5% of experiments; a real difference of
 * ten points is found.
 */
class MixtureSprtTest {
    private static final MixtureSprt TEST = MixtureSprt.DEFAULT;
    private static final int EXPERIMENTS = 1_000, PEEK_EVERY = 50, OUTCOMES = 2_000;
    private static final double ALPHA = 0.05;

    /** Runs experiments with 50/50 allocation, looks after every 50 outcomes, and counts the experiments ever declared. */
    private static double declaredShare(long seed, DoubleSupplierFactory control, DoubleSupplierFactory arm) {
        SplittableRandom random = new SplittableRandom(seed);
        int declared = 0;
        for (int e = 0; e < EXPERIMENTS; e++) {
            DoubleSupplier a = control.of(random), b = arm.of(random);
            Sample sa = Sample.EMPTY, sb = Sample.EMPTY;
            for (int i = 1; i <= OUTCOMES; i++) {
                if (random.nextBoolean()) {
                    double x = a.getAsDouble();
                    sa = sa.plus(new Sample(1, x, x * x));
                } else {
                    double x = b.getAsDouble();
                    sb = sb.plus(new Sample(1, x, x * x));
                }
                if (i % PEEK_EVERY == 0) {
                    MixtureSprt.Decision d = TEST.compare(sa, sb, ALPHA).decision();
                    if (d == MixtureSprt.Decision.ARM_HIGHER || d == MixtureSprt.Decision.ARM_LOWER) {
                        declared++;
                        break;
                    }
                }
            }
        }
        return (double) declared / EXPERIMENTS;
    }

    interface DoubleSupplierFactory {
        DoubleSupplier of(SplittableRandom random);
    }

    private static DoubleSupplierFactory bernoulli(double p) {
        return r -> () -> r.nextDouble() < p ? 1 : 0;
    }

    /** 1,000 A/A experiments of 2,000 outcomes, 40 looks each: measured 1.5% false winners. */
    @Test
    void aaExperimentsPeekedEvery50OutcomesDeclareAtMostFivePercentWinners() {
        assertThat(declaredShare(16, bernoulli(0.5), bernoulli(0.5))).isLessThanOrEqualTo(ALPHA);
    }

    /** A rare success (10%): the normal approximation is weakest here; measured 1.9%. */
    @Test
    void aaExperimentsOnARareOutcomeStayWithinFivePercent() {
        assertThat(declaredShare(17, bernoulli(0.1), bernoulli(0.1))).isLessThanOrEqualTo(ALPHA);
    }

    /** Skewed scores in [0, 1] (U³, mean 1/4): measured 2.4%. */
    @Test
    void aaExperimentsOnScoresStayWithinFivePercent() {
        DoubleSupplierFactory skewed = r -> () -> Math.pow(r.nextDouble(), 3);
        assertThat(declaredShare(18, skewed, skewed)).isLessThanOrEqualTo(ALPHA);
    }

    /** 50% against 60% correct: measured 95% of experiments declare the arm within 2,000 outcomes. */
    @Test
    void aTenPointDifferenceIsFound() {
        assertThat(declaredShare(19, bernoulli(0.5), bernoulli(0.6))).isGreaterThanOrEqualTo(0.8);
    }

    @Test
    void theDecisionAgreesWithTheConfidenceSequence() {
        Sample control = Sample.bernoulli(400, 200), arm = Sample.bernoulli(400, 260);
        MixtureSprt.Result r = TEST.compare(control, arm, ALPHA);
        assertThat(r.decision()).isEqualTo(MixtureSprt.Decision.ARM_HIGHER);
        assertThat(r.sequence().low()).isGreaterThan(0);
        assertThat(r.pValue()).isLessThan(ALPHA);
        MixtureSprt.Result lower = TEST.compare(arm, control, ALPHA);
        assertThat(lower.decision()).isEqualTo(MixtureSprt.Decision.ARM_LOWER);
        assertThat(lower.sequence().high()).isLessThan(0);
    }

    @Test
    void noDecisionBeforeTheMinimumOnEachSide() {
        MixtureSprt.Result r = TEST.compare(Sample.bernoulli(20, 0), Sample.bernoulli(20, 20), ALPHA);
        assertThat(r.decision()).isEqualTo(MixtureSprt.Decision.NOT_ENOUGH_DATA);
        assertThat(TEST.compare(Sample.bernoulli(1, 1), Sample.bernoulli(50, 20), ALPHA).likelihoodRatio()).isNull();
        Interval wide = TEST.compare(Sample.bernoulli(6, 4), Sample.bernoulli(6, 4), ALPHA).sequence();
        assertThat(wide).as("never wider than the differences possible").isEqualTo(new Interval(-1, 1));
    }

    @Test
    void wilsonIntervalsMatchTheTextbook() {
        Interval i = Sample.bernoulli(10, 9).wilson95(); // 9 of 10: 0.5958 .. 0.9821
        assertThat(i.low()).isCloseTo(0.5958, offset(1e-4));
        assertThat(i.high()).isCloseTo(0.9821, offset(1e-4));
        assertThat(Sample.bernoulli(0, 0).wilson95()).isNull();
    }
}
