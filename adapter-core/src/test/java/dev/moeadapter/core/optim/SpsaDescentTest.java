package dev.moeadapter.core.optim;

import dev.moeadapter.core.InvalidRequestException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class SpsaDescentTest {

    /** Runs {@code steps} steps and settles; returns {first evaluated loss, settled loss}. */
    private static double[] run(SpsaDescent d, ToDoubleFunction<float[]> loss, int steps) {
        double first = Double.NaN;
        for (int k = 0; k < steps; k++) {
            List<float[]> points = d.points();
            float[] l = new float[points.size()];
            for (int i = 0; i < l.length; i++) {
                l[i] = (float) loss.applyAsDouble(points.get(i));
            }
            if (k == 0) {
                first = l[0];
            }
            d.step(l);
        }
        return new double[] {first, d.settle((float) loss.applyAsDouble(d.parameters()))};
    }

    private static double quadratic(float[] x) {
        double s = 0;
        for (int j = 0; j < x.length; j++) {
            double t = x[j] - (j % 2 == 0 ? 1 : -0.5);
            s += t * t;
        }
        return s;
    }

    @Test
    void descendsAQuadraticAndTheFirstStepHasTheConfiguredSize() {
        SpsaDescent d = new SpsaDescent(new float[8], SpsaGains.DEFAULTS.withDirections(8), 3);
        List<float[]> points = d.points();
        float[] l = new float[points.size()];
        for (int i = 0; i < l.length; i++) {
            l[i] = (float) quadratic(points.get(i));
        }
        d.step(l);
        double ss = 0;
        for (float v : d.parameters()) {
            ss += v * v;
        }
        assertThat(Math.sqrt(ss / 8)).isCloseTo(SpsaGains.DEFAULTS.step(), within(1e-4));
        double[] r = run(d, SpsaDescentTest::quadratic, 30);
        assertThat(r[1]).as("loss %s -> %s", r[0], r[1]).isLessThan(0.5 * r[0]);
        assertThat(d.accepted()).isGreaterThan(d.rejected());
    }

    @Test
    void aStartAtTheMinimumIsKeptExactly() {
        // |x|_1 + 0.3·Σx has its minimum at the start, and its antithetic differences do not vanish:
        // every probe and every step goes uphill
        ToDoubleFunction<float[]> l1 = x -> {
            double s = 0;
            for (float v : x) {
                s += Math.abs(v) + 0.3 * v;
            }
            return s;
        };
        SpsaDescent d = new SpsaDescent(new float[16], SpsaGains.DEFAULTS, 1);
        double[] r = run(d, l1, 10);
        assertThat(r[1]).isEqualTo(r[0]).isZero();
        assertThat(d.parameters()).containsOnly(0f);
        assertThat(d.rejected()).isPositive();
    }

    @Test
    void neverEndsAboveItsStartEvenOnNoise() {
        // a loss without signal: a fixed-step method random-walks here; this one keeps its best point
        for (long seed = 0; seed < 20; seed++) {
            SplittableRandom noise = new SplittableRandom(seed);
            SpsaDescent d = new SpsaDescent(new float[32], SpsaGains.DEFAULTS.withStep(2f), seed);
            double[] r = run(d, x -> noise.nextDouble(), 10);
            assertThat(r[1]).isLessThanOrEqualTo(r[0]);
        }
    }

    @Test
    void gainsFollowSpallsSequences() {
        SpsaGains g = new SpsaGains(1f, 0.2f, 2, 3f);
        assertThat(g.perturbationAt(0)).isCloseTo(0.2, within(1e-7));
        assertThat(g.perturbationAt(9)).isCloseTo(0.2 / Math.pow(10, 0.101), within(1e-7));
        assertThat(g.gainDecay(0)).isCloseTo(1, within(1e-12));
        assertThat(g.gainDecay(5)).isCloseTo(Math.pow(4.0 / 9.0, 0.602), within(1e-12));
        assertThat(g.pointsPerStep()).isEqualTo(5);
    }

    @Test
    void aCopyContinuesExactlyAndRestartForgetsTheBestPoint() {
        SpsaDescent d = new SpsaDescent(new float[6], SpsaGains.DEFAULTS, 7);
        run(d, SpsaDescentTest::quadratic, 3);
        SpsaDescent c = d.copy();
        run(d, SpsaDescentTest::quadratic, 4);
        run(c, SpsaDescentTest::quadratic, 4);
        assertThat(c.parameters()).containsExactly(d.parameters());
        assertThat(c.bestLoss()).isEqualTo(d.bestLoss());
        d.restart();
        assertThat(d.bestLoss()).isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(d.parameters()).containsExactly(c.parameters());
    }

    @Test
    void outOfRangeGainsAndMisuseAreRefused() {
        assertThatThrownBy(() -> new SpsaGains(0f, 0.1f, 4, 2f)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("first step");
        assertThatThrownBy(() -> new SpsaGains(0.5f, 6f, 4, 2f)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("perturbation");
        assertThatThrownBy(() -> new SpsaGains(0.5f, 0.1f, 65, 2f)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("q must be in 1..64");
        assertThatThrownBy(() -> new SpsaGains(0.5f, 0.1f, 4, -1f)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("stability");
        SpsaDescent d = new SpsaDescent(new float[3], SpsaGains.DEFAULTS, 0);
        assertThatThrownBy(() -> d.step(new float[9])).isInstanceOf(IllegalStateException.class);
        d.points();
        assertThatThrownBy(() -> d.step(new float[3])).isInstanceOf(InvalidRequestException.class);
    }
}
