package dev.moeadapter.rerouting;

import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The map from the optimised vector θ to router deltas: which layers, which coordinates of δ_l each
 * θ entry moves, and the update weight of each entry. Fixed for a request once the first round has
 * seen the prompt's routing, so that θ and the optimiser state carry over between rounds.
 */
final class DeltaSpace {
    private final int experts;
    private final int[] layers;
    /** Per selected layer: a basis vector over the experts for each of its θ entries. */
    private final float[][][] basis;
    private final float[] updateWeights;
    private final int dimension;

    private DeltaSpace(int experts, int[] layers, float[][][] basis, float[] updateWeights) {
        this.experts = experts;
        this.layers = layers;
        this.basis = basis;
        this.updateWeights = updateWeights;
        int d = 0;
        for (float[][] b : basis) {
            d += b.length;
        }
        this.dimension = d;
    }

    static DeltaSpace of(ReroutingSettings settings, ContextStatistics stats, int experts) {
        List<LayerSelection.WeightedLayer> chosen = settings.layers().select(stats);
        int[] layers = new int[chosen.size()];
        float[][][] basis = new float[chosen.size()][][];
        List<Float> weights = new ArrayList<>();
        boolean weighted = false;
        for (int i = 0; i < layers.length; i++) {
            LayerSelection.WeightedLayer wl = chosen.get(i);
            layers[i] = wl.layer();
            int li = stats.layers().indexOf(wl.layer());
            basis[i] = switch (settings.parameterisation()) {
                case Parameterisation.Full f -> unitVectors(experts, allExperts(experts));
                case Parameterisation.TopExperts t -> unitVectors(experts, mostUsed(stats, li, t.experts()));
                case Parameterisation.LayerScalar s -> new float[][] {routingDirection(stats.meanProbabilities()[li])};
            };
            for (int j = 0; j < basis[i].length; j++) {
                weights.add(wl.weight());
            }
            weighted |= wl.weight() != 1f;
        }
        float[] w = null;
        if (weighted) {
            w = new float[weights.size()];
            for (int j = 0; j < w.length; j++) {
                w[j] = weights.get(j);
            }
        }
        return new DeltaSpace(experts, layers, basis, w);
    }

    int dimension() {
        return dimension;
    }

    /** Null when every entry has weight 1. */
    float[] updateWeights() {
        return updateWeights == null ? null : updateWeights.clone();
    }

    int[] layers() {
        return layers.clone();
    }

    /** δ_l of every selected layer for θ, layer by layer. */
    float[][] deltas(float[] theta) {
        float[][] out = new float[layers.length][experts];
        int t = 0;
        for (int i = 0; i < layers.length; i++) {
            for (float[] b : basis[i]) {
                float a = theta[t++];
                for (int e = 0; e < experts; e++) {
                    out[i][e] += a * b[e];
                }
            }
        }
        return out;
    }

    /** z := z + δ_l on every selected layer, for every token. */
    RoutingPlan plan(float[] theta) {
        float[][] deltas = deltas(theta);
        List<RouterEdit> edits = new ArrayList<>(layers.length);
        for (int i = 0; i < layers.length; i++) {
            edits.add(new RouterEdit.AddDelta(layers[i], deltas[i], PositionRange.ALL));
        }
        return new RoutingPlan(edits);
    }

    private static int[] allExperts(int experts) {
        int[] all = new int[experts];
        for (int e = 0; e < experts; e++) {
            all[e] = e;
        }
        return all;
    }

    private static int[] mostUsed(ContextStatistics stats, int layerIndex, int count) {
        long[] usage = stats.usage()[layerIndex];
        double[] mean = stats.meanProbabilities()[layerIndex];
        double[] key = new double[usage.length];
        for (int e = 0; e < key.length; e++) {
            key[e] = usage[e] + 0.5 * mean[e];  // mean < 1 only breaks ties between equal counts
        }
        int[] top = ContextStatistics.topK(key, count);
        Arrays.sort(top);
        return top;
    }

    private static float[][] unitVectors(int experts, int[] which) {
        float[][] b = new float[which.length][experts];
        for (int i = 0; i < which.length; i++) {
            b[i][which[i]] = 1f;
        }
        return b;
    }

    /** Centred log of the mean router distribution, scaled to unit RMS (zero if it is flat). */
    static float[] routingDirection(double[] meanProbabilities) {
        int e = meanProbabilities.length;
        double[] log = new double[e];
        double mean = 0;
        for (int j = 0; j < e; j++) {
            log[j] = Math.log(Math.max(meanProbabilities[j], 1e-12));
            mean += log[j] / e;
        }
        double ss = 0;
        for (int j = 0; j < e; j++) {
            log[j] -= mean;
            ss += log[j] * log[j];
        }
        double rms = Math.sqrt(ss / e);
        float[] u = new float[e];
        if (rms > 1e-9) {
            for (int j = 0; j < e; j++) {
                u[j] = (float) (log[j] / rms);
            }
        }
        return u;
    }
}
