package dev.moeadapter.c3po;

import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Where C3PO may change the prompt's pathway: the last MoE layers (critical layers) and, in each,
 * the prompt's own top-n experts (core experts). A candidate pathway is applied to the core experts
 * only, rescaled so that they keep the probability mass they had in ω0: the other experts keep
 * their own probabilities exactly, and each row stays a distribution.
 */
public final class CriticalRegion {
    private final int[] slots;
    private final int[] layers;
    private final int[][] core;
    private final float[][] own;
    private final double[] coreMass;

    private CriticalRegion(int[] slots, int[] layers, int[][] core, float[][] own) {
        this.slots = slots;
        this.layers = layers;
        this.core = core;
        this.own = own;
        this.coreMass = new double[slots.length];
        for (int l = 0; l < slots.length; l++) {
            for (int e : core[l]) {
                coreMass[l] += own[l][e];
            }
        }
    }

    /** The last {@code criticalLayers} MoE layers and the top {@code coreExperts} of ω0 in each (both clamped). */
    public static CriticalRegion of(List<Integer> moeLayers, int experts, float[] ownPathway, int criticalLayers, int coreExperts) {
        int c = Math.min(criticalLayers, moeLayers.size());
        int n = Math.min(coreExperts, experts);
        int[] slots = new int[c], layers = new int[c];
        int[][] core = new int[c][];
        float[][] own = new float[c][];
        for (int l = 0; l < c; l++) {
            slots[l] = moeLayers.size() - c + l;
            layers[l] = moeLayers.get(slots[l]);
            own[l] = Arrays.copyOfRange(ownPathway, slots[l] * experts, (slots[l] + 1) * experts);
            float[] row = own[l];
            core[l] = IntStream.range(0, experts).boxed()
                    .sorted((a, b) -> Float.compare(row[b], row[a])).limit(n).mapToInt(Integer::intValue).toArray();
        }
        return new CriticalRegion(slots, layers, core, own);
    }

    /** Slots (indices into the reference set's MoE layers) of the critical layers. */
    int[] slots() {
        return slots.clone();
    }

    public List<Integer> layers() {
        return Arrays.stream(layers).boxed().toList();
    }

    /** The core experts of each critical layer, in the order of NGD's parameters ({@link #logCore()}). */
    public int[][] core() {
        int[][] out = new int[core.length][];
        for (int l = 0; l < core.length; l++) {
            out[l] = core[l].clone();
        }
        return out;
    }

    int coreSize() {
        return core.length == 0 ? 0 : core[0].length;
    }

    /** ω0 restricted to the critical layers. */
    public float[][] own() {
        return copy(own);
    }

    /** The critical layers' rows of a full pathway (MoE layers × experts). */
    float[][] rows(float[] pathway) {
        int experts = own[0].length;
        float[][] out = new float[slots.length][];
        for (int l = 0; l < slots.length; l++) {
            out[l] = Arrays.copyOfRange(pathway, slots[l] * experts, (slots[l] + 1) * experts);
        }
        return out;
    }

    /** ω0 with the core experts' share taken from {@code candidate} (same mass); rows whose core is empty in the candidate keep ω0. */
    float[][] restrict(float[][] candidate) {
        float[][] out = copy(own);
        for (int l = 0; l < out.length; l++) {
            double mass = 0;
            for (int e : core[l]) {
                mass += candidate[l][e];
            }
            if (!(mass > 0) || !Double.isFinite(mass)) {
                continue;
            }
            double scale = coreMass[l] / mass;
            for (int e : core[l]) {
                out[l][e] = (float) (candidate[l][e] * scale);
            }
        }
        return out;
    }

    /** NGD's parameters at ω0: the log-probabilities of the core experts, layer after layer. */
    public float[] logCore() {
        int n = coreSize();
        float[] theta = new float[core.length * n];
        for (int l = 0; l < core.length; l++) {
            for (int j = 0; j < n; j++) {
                theta[l * n + j] = (float) Math.log(Math.max(own[l][core[l][j]], 1e-30));
            }
        }
        return theta;
    }

    /** The pathway for NGD parameters θ: core experts get coreMass·softmax(θ_l); the others keep ω0. */
    public float[][] fromLogCore(float[] theta) {
        int n = coreSize();
        float[][] out = copy(own);
        for (int l = 0; l < core.length; l++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                max = Math.max(max, theta[l * n + j]);
            }
            double sum = 0;
            for (int j = 0; j < n; j++) {
                sum += Math.exp(theta[l * n + j] - max);
            }
            for (int j = 0; j < n; j++) {
                out[l][core[l][j]] = (float) (coreMass[l] * Math.exp(theta[l * n + j] - max) / sum);
            }
        }
        return out;
    }

    /** Replaces the router distribution of the critical layers by {@code omega} at {@code positions}. */
    RoutingPlan plan(float[][] omega, PositionRange positions) {
        return plan(layers(), omega, positions);
    }

    /** Replaces the router distribution of each of {@code layers} by its row of {@code omega} at {@code positions}. */
    public static RoutingPlan plan(List<Integer> layers, float[][] omega, PositionRange positions) {
        List<RouterEdit> edits = new ArrayList<>(layers.size());
        for (int l = 0; l < layers.size(); l++) {
            edits.add(new RouterEdit.ReplaceDistribution(layers.get(l), omega[l], positions));
        }
        return new RoutingPlan(edits);
    }

    private static float[][] copy(float[][] rows) {
        float[][] out = new float[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            out[i] = rows[i].clone();
        }
        return out;
    }
}
