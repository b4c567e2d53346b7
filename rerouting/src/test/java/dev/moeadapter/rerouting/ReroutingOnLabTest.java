package dev.moeadapter.rerouting;

import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.FlashAttention;
import dev.moeadapter.core.engine.KvCacheType;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.optim.SpsaGains;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.core.testmodels.LabFiles;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Rerouting's mechanism on the shipped lab models: on lab v4's {@code alias-dev} (a split whose frozen acceptance
 * check says it can test rerouting: the prompt's loss picks the task's routing on 97% of its items) the default
 * moves routing and most rounds lower the context loss; and, on the version-1 OLMoE-style model's shifted dev split
 * and on a lab v2 model where the loss is smooth, the SPSA estimate is an unbiased view of the gradient that
 * llama.cpp's central finite differences measure. These check mechanisms, not accuracy.
 */
class ReroutingOnLabTest {
    private static final int ITEMS = 40;

    /** Room for every sequence to hold a lab prompt (under 40 tokens). */
    private static Session open(Model m, int sequences) {
        return m.newSession(new SessionParams(64 * sequences, 256, sequences, 1, 1));
    }

    @Test
    void theDefaultMovesRoutingAndMostRoundsLowerTheContextLoss() {
        try (Model m = Model.load(ModelParams.of(LabFiles.V4.model("lab4-olmoe-seed1"))); Session s = open(m, ReroutingSettings.DEFAULTS.sequencesNeeded())) {
            List<String> prompts = LabFiles.V4.prompts("alias-dev", ITEMS);
            double[] shifts = new double[prompts.size()];
            int lowered = 0;
            double drop = 0;
            for (int i = 0; i < prompts.size(); i++) {
                int[] prompt = m.tokenize(prompts.get(i));
                ReroutingDecoding scheme = new ReroutingDecoding(s, ReroutingSettings.DEFAULTS, new CancellationToken());
                scheme.prefill(prompt, new CancellationToken());
                scheme.release();
                RoundReport r = scheme.rounds().getFirst();
                assertThat(r.endLoss()).isLessThanOrEqualTo(r.startLoss());
                lowered += r.endLoss() < r.startLoss() ? 1 : 0;
                drop += r.startLoss() - r.endLoss();
                shifts[i] = RoutingShift.mean(s, prompt, scheme.plan());
            }
            double[] sorted = shifts.clone();
            Arrays.sort(sorted);
            double median = (sorted[ITEMS / 2 - 1] + sorted[ITEMS / 2]) / 2;
            System.out.printf(Locale.ROOT, "rerouting defaults on lab4-olmoe-seed1 alias-dev (first %d items): %d/%d rounds lowered the "
                    + "context loss (mean drop %.4f nats), routing shift median %.4f, max %.4f%n",
                    ITEMS, lowered, ITEMS, drop / ITEMS, median, sorted[ITEMS - 1]);
            assertThat(lowered).isGreaterThan(ITEMS / 2);
            assertThat(median).as("median routing shift (measured 0.064; a scalar along the context's own routing moved 0.005)")
                    .isGreaterThan(0.02);
        }
    }

    /**
     * On a lab v2 model, which routes more sharply, the same check holds where the loss has a gradient at the scale h:
     * on the first {@code dev} prompt whose router margin exceeds 2h, with about 16 d directions and batch-invariant
     * kernels (the finite-difference pairs and the SPSA points run in batches of different shapes).
     */
    @Test
    void onAV2ModelTheSpsaEstimateAgreesWhereTheLossIsSmooth() {
        float h = 0.001f;
        SessionParams params = new SessionParams(64 * GradientCheck.SEQUENCES, 256, GradientCheck.SEQUENCES, 1, 1, FlashAttention.OFF,
                KvCacheType.F32);
        try (Model m = Model.load(ModelParams.of(LabFiles.V2.model("lab2-mixtral-seed1"))); Session s = m.newSession(params)) {
            int[] prompt = LabFiles.V2.prompts("dev", 20).stream().map(m::tokenize).filter(p -> GradientCheck.routerMargin(s, m.info(), p) > 2 * h)
                    .findFirst().orElseThrow();
            GradientCheck.Result r = GradientCheck.spsaAgainstFiniteDifferences(s, m.info(), prompt, h, GradientCheck.rounds(m.info()));
            System.out.printf(Locale.ROOT, "lab2-mixtral-seed1, SPSA mean vs central differences (h %s): cosine %.3f, norms %.4f and %.4f%n", h,
                    r.cosine(), r.spsaNorm(), r.finiteDifferenceNorm());
            assertThat(r.cosine()).isGreaterThanOrEqualTo(0.9);
        }
    }

    /**
     * The margin the gradient check reports is the gap between the experts llama.cpp selected (its top-k tensor,
     * traced separately) and the best one it left out, in router logits.
     */
    @Test
    void theRouterMarginIsTheLogitGapBetweenTheSelectedExpertsAndTheRest() {
        try (Model m = Model.load(ModelParams.of(LabFiles.V1.model("lab-olmoe"))); Session s = open(m, 1)) {
            for (String text : LabFiles.V1.prompts("dev-shifted", 5)) {
                int[] prompt = m.tokenize(text);
                double margin = GradientCheck.routerMargin(s, m.info(), prompt);
                s.clearSequence(0);
                s.setTrace(0, TraceSpec.routesAndProbabilities(PositionRange.ALL));
                s.decode(Batch.allOutputs(0, 0, Arrays.copyOf(prompt, prompt.length - 1)));
                s.setTrace(0, TraceSpec.OFF);
                RouterTrace t = s.drainTrace();
                s.clearSequence(0);
                double expected = Double.POSITIVE_INFINITY;
                for (TokenProbabilities tp : t.probabilities()) {
                    int[] selected = t.route(0, tp.position(), tp.layer()).orElseThrow().experts();
                    double lowestSelected = Double.POSITIVE_INFINITY, highestOther = Double.NEGATIVE_INFINITY;
                    for (int e = 0; e < tp.probabilities().length; e++) {
                        double logit = Math.log(tp.probabilities()[e]);
                        final int expert = e;
                        if (Arrays.stream(selected).anyMatch(x -> x == expert)) {
                            lowestSelected = Math.min(lowestSelected, logit);
                        } else {
                            highestOther = Math.max(highestOther, logit);
                        }
                    }
                    expected = Math.min(expected, lowestSelected - highestOther);
                }
                assertThat(t.probabilities()).hasSize((prompt.length - 1) * m.info().moeLayers().size());
                assertThat(margin).isPositive().isCloseTo(expected, within(1e-9));
            }
        }
    }

    /**
     * The antithetic SPSA estimate averaged over many directions against central finite differences,
     * both through llama.cpp, of the context loss as a function of one delta per (layer, expert).
     */
    @Test
    void theSpsaEstimateAgreesWithCentralFiniteDifferences() {
        float h = 0.01f;
        int rounds = 16;
        try (Model m = Model.load(ModelParams.of(LabFiles.V1.model("lab-olmoe"))); Session s = open(m, GradientCheck.SEQUENCES)) {
            for (String text : LabFiles.V1.prompts("dev-shifted", 2)) {
                double cos = GradientCheck.spsaAgainstFiniteDifferences(s, m.info(), m.tokenize(text), h, rounds).cosine();
                System.out.printf(Locale.ROOT, "SPSA mean of %d directions vs central differences (h %.2f, d %d) on '%s': cosine %.3f%n",
                        rounds * SpsaGains.MAX_DIRECTIONS, h, m.info().moeLayers().size() * m.info().experts(), text, cos);
                assertThat(cos).isGreaterThanOrEqualTo(0.9);
            }
        }
    }
}
