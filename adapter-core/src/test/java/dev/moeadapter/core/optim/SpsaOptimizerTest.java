package dev.moeadapter.core.optim;

import dev.moeadapter.core.InvalidRequestException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.ToDoubleFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

class SpsaOptimizerTest {
    /** f(θ) = Σ a_j (θ_j − t_j)², an ill-conditioned quadratic with minimum at t. */
    private static final float[] A = {1f, 4f, 0.25f, 2f, 9f, 0.5f};
    private static final float[] TARGET = {1f, -2f, 0.5f, 3f, -1f, 0f};

    private static double quadratic(float[] theta) {
        double s = 0;
        for (int j = 0; j < theta.length; j++) {
            double d = theta[j] - TARGET[j];
            s += A[j] * d * d;
        }
        return s;
    }

    private static float[] quadraticGradient(float[] theta) {
        float[] g = new float[theta.length];
        for (int j = 0; j < theta.length; j++) {
            g[j] = 2 * A[j] * (theta[j] - TARGET[j]);
        }
        return g;
    }

    private static float[] evaluate(List<float[]> points, ToDoubleFunction<float[]> f) {
        float[] losses = new float[points.size()];
        for (int i = 0; i < losses.length; i++) {
            losses[i] = (float) f.applyAsDouble(points.get(i));
        }
        return losses;
    }

    @Test
    void aCopyContinuesExactlyAsTheOriginalAndIndependentlyOfIt() {
        SpsaOptimizer original = new SpsaOptimizer(new float[6], SpsaSettings.DEFAULTS.withDirections(2), 3);
        for (int i = 0; i < 4; i++) {
            original.step(evaluate(original.points(), SpsaOptimizerTest::quadratic));
        }
        SpsaOptimizer copy = original.copy();
        float[] before = copy.parameters();
        for (int i = 0; i < 3; i++) {
            original.step(evaluate(original.points(), SpsaOptimizerTest::quadratic));
        }
        assertThat(copy.parameters()).as("the original's later steps leave the copy alone").containsExactly(before);
        for (int i = 0; i < 3; i++) {
            copy.step(evaluate(copy.points(), SpsaOptimizerTest::quadratic));
        }
        assertThat(copy.steps()).isEqualTo(original.steps());
        assertThat(copy.parameters()).containsExactly(original.parameters());
    }

    @Test
    void pointsAreAntitheticPairsAroundTheta() {
        float[] theta = {0.5f, -1f, 2f};
        SpsaOptimizer opt = new SpsaOptimizer(theta, SpsaSettings.DEFAULTS.withDirections(3).withPerturbation(0.2f), 7);
        List<float[]> points = opt.points();
        assertThat(points).hasSize(6);
        for (int i = 0; i < 3; i++) {
            float[] plus = points.get(2 * i);
            float[] minus = points.get(2 * i + 1);
            for (int j = 0; j < theta.length; j++) {
                assertThat(plus[j] + minus[j]).isCloseTo(2 * theta[j], offset(1e-6f));
                assertThat(Math.abs(plus[j] - theta[j])).isCloseTo(0.2f, offset(1e-6f));
            }
        }
        // same probe until step() consumes it
        assertThat(opt.points().get(0)).containsExactly(points.get(0));
    }

    @Test
    void estimateOnAQuadraticIsUnbiased() {
        // For a quadratic the antithetic difference is exact: E[ĝ] = ∇f, so the mean of many
        // single-direction estimates converges to the true gradient.
        float[] theta = {0f, 0f, 0f, 0f, 0f, 0f};
        float[] exact = quadraticGradient(theta);
        double[] mean = new double[theta.length];
        int trials = 4000;
        SpsaOptimizer opt = new SpsaOptimizer(theta, SpsaSettings.DEFAULTS.withDirections(1).withLearningRate(1e-30f), 11);
        for (int t = 0; t < trials; t++) {
            float[] g = opt.step(evaluate(opt.points(), SpsaOptimizerTest::quadratic));
            for (int j = 0; j < g.length; j++) {
                mean[j] += g[j] / trials;
            }
        }
        double normExact = 0;
        for (float e : exact) {
            normExact += e * e;
        }
        normExact = Math.sqrt(normExact);
        for (int j = 0; j < theta.length; j++) {
            assertThat(Math.abs(mean[j] - exact[j])).as("coordinate %d", j).isLessThan(0.1 * normExact);
        }
        assertThat(cosine(toFloat(mean), exact)).isGreaterThan(0.99);
    }

    @Test
    void moreDirectionsGiveABetterAlignedEstimate() {
        float[] theta = {0.3f, 0.1f, -0.7f, 1.2f, 0.4f, -0.2f};
        float[] exact = quadraticGradient(theta);
        double cosOne = meanCosine(theta, exact, 1);
        double cosSixteen = meanCosine(theta, exact, 16);
        assertThat(cosSixteen).isGreaterThan(cosOne + 0.2).isGreaterThan(0.8);
    }

    private static double meanCosine(float[] theta, float[] exact, int q) {
        SpsaOptimizer opt = new SpsaOptimizer(theta, SpsaSettings.DEFAULTS.withDirections(q).withLearningRate(1e-30f), 3);
        double sum = 0;
        int trials = 300;
        for (int t = 0; t < trials; t++) {
            sum += cosine(opt.step(evaluate(opt.points(), SpsaOptimizerTest::quadratic)), exact);
        }
        return sum / trials;
    }

    @Test
    void adamDrivenByTheEstimateConverges() {
        float[] start = new float[A.length];
        SpsaOptimizer opt = new SpsaOptimizer(start, SpsaSettings.DEFAULTS.withDirections(2).withLearningRate(0.05f), 42);
        double initial = quadratic(start);
        for (int s = 0; s < 600; s++) {
            opt.step(evaluate(opt.points(), SpsaOptimizerTest::quadratic));
        }
        assertThat(opt.steps()).isEqualTo(600);
        assertThat(quadratic(opt.parameters())).isLessThan(1e-2 * initial);
        float[] theta = opt.parameters();
        for (int j = 0; j < theta.length; j++) {
            assertThat(Math.abs(theta[j] - TARGET[j])).as("coordinate %d", j).isLessThan(0.15f);
        }
    }

    @Test
    void sameSeedSamePath() {
        float[] a = run(5);
        float[] b = run(5);
        float[] c = run(6);
        assertThat(a).containsExactly(b);
        assertThat(a).isNotEqualTo(c);
    }

    private static float[] run(long seed) {
        SpsaOptimizer opt = new SpsaOptimizer(new float[A.length], SpsaSettings.DEFAULTS, seed);
        for (int s = 0; s < 20; s++) {
            opt.step(evaluate(opt.points(), SpsaOptimizerTest::quadratic));
        }
        return opt.parameters();
    }

    @Test
    void updateWeightsScaleEachCoordinatesStep() {
        float[] weights = {1f, 0f, 0.5f, 1f, 1f, 1f};
        SpsaOptimizer opt = new SpsaOptimizer(new float[A.length], weights, SpsaSettings.DEFAULTS, 9);
        for (int s = 0; s < 30; s++) {
            opt.step(evaluate(opt.points(), SpsaOptimizerTest::quadratic));
        }
        float[] theta = opt.parameters();
        assertThat(theta[1]).isZero();
        assertThat(theta[0]).isNotZero();
    }

    @Test
    void adamAloneMinimisesWithExactGradients() {
        Adam adam = new Adam(new float[A.length], AdamSettings.DEFAULTS);
        for (int s = 0; s < 500; s++) {
            adam.step(quadraticGradient(adam.parameters()));
        }
        assertThat(quadratic(adam.parameters())).isLessThan(1e-3);
    }

    @Test
    void badSettingsAndArgumentsAreRejected() {
        assertThatThrownBy(() -> new SpsaSettings(0f, 1, AdamSettings.DEFAULTS))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("perturbation");
        assertThatThrownBy(() -> new SpsaSettings(Float.NaN, 1, AdamSettings.DEFAULTS))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("perturbation");
        assertThatThrownBy(() -> new SpsaSettings(0.1f, 0, AdamSettings.DEFAULTS))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("q must be in 1..32");
        // bounded before 1 + 2q is ever computed: q = 2^31 - 1 would overflow it
        assertThatThrownBy(() -> new SpsaSettings(0.1f, Integer.MAX_VALUE, AdamSettings.DEFAULTS))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("q must be in 1..32");
        assertThatThrownBy(() -> AdamSettings.DEFAULTS.withLearningRate(-0.1f))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("learning rate");
        assertThatThrownBy(() -> AdamSettings.DEFAULTS.withLearningRate(Float.POSITIVE_INFINITY))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("learning rate");
        assertThatThrownBy(() -> new AdamSettings(0.1f, 1f, 0.999f, 1e-8f))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("beta1");
        assertThatThrownBy(() -> new SpsaOptimizer(new float[0], SpsaSettings.DEFAULTS, 1))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> new SpsaOptimizer(new float[]{Float.NaN}, SpsaSettings.DEFAULTS, 1))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("not finite");
        assertThatThrownBy(() -> new SpsaOptimizer(new float[2], new float[]{1f, -1f}, SpsaSettings.DEFAULTS, 1))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining(">= 0");

        SpsaOptimizer opt = new SpsaOptimizer(new float[2], SpsaSettings.DEFAULTS.withDirections(2), 1);
        assertThatThrownBy(() -> opt.step(new float[4])).isInstanceOf(IllegalStateException.class);
        opt.points();
        assertThatThrownBy(() -> opt.step(new float[3]))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("expected 4");
        assertThatThrownBy(() -> opt.step(new float[]{1, 2, Float.NaN, 3}))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("not finite");
        assertThat(opt.steps()).isZero();
    }

    private static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
