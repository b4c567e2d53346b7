package dev.moeadapter.rerouting;

import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.engine.Gating;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.optim.SpsaDescent;
import dev.moeadapter.core.optim.SpsaGains;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TraceSpec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.moeadapter.core.optim.Vectors.cosine;
import static dev.moeadapter.core.optim.Vectors.norm;

/**
 * Whether rerouting's zeroth-order estimate is unbiased: the antithetic SPSA estimate of a prompt's context-loss
 * gradient with respect to one router delta per (MoE layer, expert), averaged over many steps of the most
 * directions a step takes, against central finite differences, both through llama.cpp. The cosine is near 1 where
 * the loss is smooth at δ = 0 on the scale h; a router near-tie that a perturbation of h flips makes both jump, and
 * there the loss has no gradient to compare with: {@link #routerMargin} says whether a prompt has one. Two more
 * causes keep the cosine below 1: the mean of N directions errs by about √(d/N) of the gradient's norm (so N must be
 * many times d), and kernels that are not batch-invariant (the finite-difference pairs and the SPSA points run in
 * batches of different shapes) add noise of their own to each loss difference.
 */
public final class GradientCheck {
    /** Sequences the lane needs: the points of an SPSA step of the most directions. */
    public static final int SEQUENCES = 2 * SpsaGains.MAX_DIRECTIONS + 1;

    private GradientCheck() {
    }

    /**
     * Rounds of the most directions that make about 16 d directions: the mean's own error is then about a quarter of
     * the gradient's norm (a cosine of about 0.97 from sampling alone).
     */
    public static int rounds(ModelInfo info) {
        return Math.ceilDiv(16 * info.moeLayers().size() * info.experts(), SpsaGains.MAX_DIRECTIONS);
    }

    /** The cosine between the two estimates, and their norms. */
    public record Result(double cosine, double spsaNorm, double finiteDifferenceNorm) {
    }

    /** Compares the mean of {@code rounds} SPSA estimates (perturbation {@code h}) against central differences. */
    public static Result spsaAgainstFiniteDifferences(DecodeLane lane, ModelInfo info, int[] prompt, float h, int rounds) {
        List<Integer> layers = info.moeLayers();
        int experts = info.experts(), d = layers.size() * experts;
        ContextLoss loss = new ContextLoss(lane);
        CancellationToken never = new CancellationToken();
        List<RoutingPlan> fd = new ArrayList<>();
        for (int j = 0; j < d; j++) {
            for (float sign : new float[] {1, -1}) {
                float[] theta = new float[d];
                theta[j] = sign * h;
                fd.add(plan(layers, experts, theta));
            }
        }
        float[] fl = new float[fd.size()];
        for (int from = 0; from < fd.size(); from += SEQUENCES) {
            List<RoutingPlan> part = fd.subList(from, Math.min(fd.size(), from + SEQUENCES));
            System.arraycopy(loss.evaluate(prompt, 0, prompt.length - 1, part, 0, never), 0, fl, from, part.size());
        }
        double[] exact = new double[d], mean = new double[d];
        for (int j = 0; j < d; j++) {
            exact[j] = (fl[2 * j] - fl[2 * j + 1]) / (2.0 * h);
        }
        for (int seed = 0; seed < rounds; seed++) {
            SpsaDescent spsa = new SpsaDescent(new float[d], SpsaGains.DEFAULTS.withPerturbation(h).withDirections(SpsaGains.MAX_DIRECTIONS), seed);
            float[] g = spsa.step(loss.evaluate(prompt, 0, prompt.length - 1, spsa.points().stream().map(t -> plan(layers, experts, t)).toList(), 0, never));
            for (int j = 0; j < d; j++) {
                mean[j] += g[j] / rounds;
            }
        }
        return new Result(cosine(mean, exact), norm(mean), norm(exact));
    }

    /**
     * The smallest gap, over the positions the context loss decodes and every MoE layer, between the router logits
     * of the last expert selected and the best one left out. To first order the loss is smooth at the scale h where the
     * gap exceeds 2h: an SPSA point moves every router logit of a layer by ±h at once, so a gap can close by 2h (a delta
     * also moves later layers' logits, through the hidden states). Defined
     * for softmax routers that select by their logits (no selection bias): there a logit gap is a log-probability gap.
     */
    public static double routerMargin(DecodeLane lane, ModelInfo info, int[] prompt) {
        if (info.gating() != Gating.SOFTMAX || info.selectionBias()) {
            throw new IllegalArgumentException("the router margin is defined for softmax routers without selection bias, not "
                    + info.gating() + (info.selectionBias() ? " with bias" : ""));
        }
        lane.clearSequence(0);
        lane.setPlan(0, RoutingPlan.EMPTY);
        lane.setTrace(0, new TraceSpec(false, PositionRange.ALL));
        int n = prompt.length - 1;
        // every row an output, as the context loss decodes them: llama.cpp's last layer routes output rows only
        for (int from = 0; from < n; from += lane.batchSize()) {
            lane.decode(Batch.allOutputs(0, from, Arrays.copyOfRange(prompt, from, Math.min(n, from + lane.batchSize()))));
        }
        lane.setTrace(0, TraceSpec.OFF);
        List<TokenProbabilities> probabilities = lane.drainTrace().probabilities();
        lane.clearSequence(0);
        int k = info.expertsUsed();
        double margin = Double.POSITIVE_INFINITY;
        for (TokenProbabilities tp : probabilities) {
            float[] p = tp.probabilities().clone();
            Arrays.sort(p);
            margin = Math.min(margin, Math.log(p[p.length - k]) - Math.log(p[p.length - k - 1]));
        }
        return margin;
    }

    /** One AddDelta per MoE layer, {@code theta} holding the layers' deltas one after another. */
    private static RoutingPlan plan(List<Integer> layers, int experts, float[] theta) {
        List<RouterEdit> edits = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            edits.add(new RouterEdit.AddDelta(layers.get(i), Arrays.copyOfRange(theta, i * experts, (i + 1) * experts), PositionRange.ALL));
        }
        return new RoutingPlan(edits);
    }
}
