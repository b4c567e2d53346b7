package dev.moeadapter.core.routing;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Gating;
import dev.moeadapter.core.engine.ModelInfo;

import java.util.Arrays;
import java.util.Objects;

/**
 * One edit of the router logits of one MoE layer, for the tokens of a sequence whose position lies
 * in {@link #positions()}. Edits are applied natively, inside the forward pass, before the gating
 * function, top-k and the mixing weights.
 */
public sealed interface RouterEdit {
    int layer();

    PositionRange positions();

    /** Checks the edit against a model; throws {@link InvalidRequestException} with the reason. */
    void validate(ModelInfo info);

    /** z := z + delta (continuous rerouting). */
    record AddDelta(int layer, float[] delta, PositionRange positions) implements RouterEdit {
        public AddDelta {
            delta = copy(delta, "delta");
            Objects.requireNonNull(positions, "positions");
        }

        @Override
        public float[] delta() {
            return delta.clone();
        }

        @Override
        public void validate(ModelInfo info) {
            checkLayer(info, layer);
            checkVector(info, delta, "delta");
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof AddDelta(int l, float[] d, PositionRange p) && l == layer && Arrays.equals(d, delta) && p.equals(positions);
        }

        @Override
        public int hashCode() {
            return Objects.hash(layer, Arrays.hashCode(delta), positions);
        }
    }

    /**
     * The router distribution becomes {@code probabilities}: z := log ω under softmax gating (C3PO),
     * z := logit(ω) under sigmoid gating. Experts outside the original top-k may then be selected.
     */
    record ReplaceDistribution(int layer, float[] probabilities, PositionRange positions) implements RouterEdit {
        public ReplaceDistribution {
            probabilities = copy(probabilities, "probabilities");
            Objects.requireNonNull(positions, "positions");
        }

        @Override
        public float[] probabilities() {
            return probabilities.clone();
        }

        @Override
        public void validate(ModelInfo info) {
            checkLayer(info, layer);
            checkVector(info, probabilities, "probabilities");
            if (info.gating() != Gating.SOFTMAX && info.gating() != Gating.SIGMOID) {
                throw new InvalidRequestException("replacing the router distribution needs softmax or sigmoid gating; this model uses " + info.gating());
            }
            double sum = 0;
            for (float p : probabilities) {
                if (p < 0 || (info.gating() == Gating.SIGMOID && p > 1)) {
                    throw new InvalidRequestException("router probabilities must lie in [0, 1], got " + p);
                }
                sum += p;
            }
            if (sum <= 0) {
                throw new InvalidRequestException("router probabilities must not all be zero");
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ReplaceDistribution(int l, float[] d, PositionRange p) && l == layer && Arrays.equals(d, probabilities) && p.equals(positions);
        }

        @Override
        public int hashCode() {
            return Objects.hash(layer, Arrays.hashCode(probabilities), positions);
        }
    }

    /** Weak routing, rank-k: only the expert ranked {@code rank} (1 = best) keeps its weight (SCMoE). */
    record KeepRank(int layer, int rank, PositionRange positions) implements RouterEdit {
        public KeepRank {
            Objects.requireNonNull(positions, "positions");
        }

        @Override
        public void validate(ModelInfo info) {
            checkLayer(info, layer);
            if (rank < 1 || rank > info.experts()) {
                throw new InvalidRequestException("rank " + rank + " out of range 1.." + info.experts());
            }
        }
    }

    /** Weak routing, top-m: only the m best experts survive; softmax renormalises over them. */
    record KeepTop(int layer, int m, PositionRange positions) implements RouterEdit {
        public KeepTop {
            Objects.requireNonNull(positions, "positions");
        }

        @Override
        public void validate(ModelInfo info) {
            checkLayer(info, layer);
            if (m < 1 || m > info.experts()) {
                throw new InvalidRequestException("top-m " + m + " out of range 1.." + info.experts());
            }
        }
    }

    /** Only {@code allowed} experts can be selected; the others are pushed far down. */
    record ExpertMask(int layer, boolean[] allowed, PositionRange positions) implements RouterEdit {
        public ExpertMask {
            Objects.requireNonNull(allowed, "allowed");
            allowed = allowed.clone();
            Objects.requireNonNull(positions, "positions");
        }

        public static ExpertMask allow(int layer, int experts, PositionRange positions, int... allowedExperts) {
            boolean[] mask = new boolean[experts];
            for (int e : allowedExperts) {
                checkExpert(e, experts);
                mask[e] = true;
            }
            return new ExpertMask(layer, mask, positions);
        }

        public static ExpertMask deny(int layer, int experts, PositionRange positions, int... deniedExperts) {
            boolean[] mask = new boolean[experts];
            Arrays.fill(mask, true);
            for (int e : deniedExperts) {
                checkExpert(e, experts);
                mask[e] = false;
            }
            return new ExpertMask(layer, mask, positions);
        }

        @Override
        public boolean[] allowed() {
            return allowed.clone();
        }

        @Override
        public void validate(ModelInfo info) {
            checkLayer(info, layer);
            if (allowed.length != info.experts()) {
                throw new InvalidRequestException("mask length " + allowed.length + " != expert count " + info.experts());
            }
            for (boolean a : allowed) {
                if (a) {
                    return;
                }
            }
            throw new InvalidRequestException("an expert mask must allow at least one expert");
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ExpertMask(int l, boolean[] a, PositionRange p) && l == layer && Arrays.equals(a, allowed) && p.equals(positions);
        }

        @Override
        public int hashCode() {
            return Objects.hash(layer, Arrays.hashCode(allowed), positions);
        }

        private static void checkExpert(int e, int experts) {
            if (e < 0 || e >= experts) {
                throw new InvalidRequestException("expert " + e + " out of range 0.." + (experts - 1));
            }
        }
    }

    private static float[] copy(float[] v, String what) {
        return Objects.requireNonNull(v, what).clone();
    }

    private static void checkLayer(ModelInfo info, int layer) {
        if (!info.isMoe()) {
            throw new InvalidRequestException("model '" + info.architecture() + "' has no MoE layers; routing edits need a Mixture-of-Experts model");
        }
        if (!info.isMoeLayer(layer)) {
            throw new InvalidRequestException("layer " + layer + " is not a MoE layer (MoE layers: " + info.moeLayers() + ")");
        }
    }

    private static void checkVector(ModelInfo info, float[] v, String what) {
        if (v.length != info.experts()) {
            throw new InvalidRequestException(what + " has length " + v.length + " but the model has " + info.experts() + " experts");
        }
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw new InvalidRequestException(what + "[" + i + "] is not finite: " + v[i]);
            }
        }
    }
}
