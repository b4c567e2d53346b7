package dev.moeadapter.rerouting;

import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.optim.SpsaDescent;
import dev.moeadapter.core.optim.SpsaGains;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.moeadapter.core.optim.Vectors.cosine;

/**
 * Whether rerouting's zeroth-order estimate is unbiased: the antithetic SPSA estimate of a prompt's context-loss
 * gradient with respect to one router delta per (MoE layer, expert), averaged over many steps of the most
 * directions a step takes, against central finite differences, both through llama.cpp. The cosine is near 1 where
 * the loss is smooth at δ = 0 on the scale h; a router near-tie that a perturbation of h flips makes both jump.
 */
public final class GradientCheck {
    /** Sequences the lane needs: the points of an SPSA step of the most directions. */
    public static final int SEQUENCES = 2 * SpsaGains.MAX_DIRECTIONS + 1;

    private GradientCheck() {
    }

    /** The cosine between the mean of {@code rounds} SPSA estimates (perturbation {@code h}) and central differences. */
    public static double spsaAgainstFiniteDifferences(DecodeLane lane, ModelInfo info, int[] prompt, float h, int rounds) {
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
        return cosine(mean, exact);
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
