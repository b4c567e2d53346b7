package dev.moeadapter.core.routing;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Gating;
import dev.moeadapter.core.engine.LayerRouting;
import dev.moeadapter.core.engine.ModelInfo;

import java.util.Arrays;
import java.util.Objects;

/**
 * One edit of the routing of one MoE layer, for the tokens of a sequence whose position lies in
 * {@link #positions()}. Edits are applied natively, inside the forward pass: on the router logits
 * before the gating function, and, where a layer selects by score + bias (DeepSeek-V3 style), on the
 * selection scores and the selected weights too, so that every edit means the same in every gating
 * family (README, "Routing edits per gating family"). Hash-routed layers have no router: edits
 * there are refused.
 */
public sealed interface RouterEdit {
    int layer();

    PositionRange positions();

    /** Checks the edit against a model; throws {@link InvalidRequestException} with the reason. */
    void validate(ModelInfo info);

    /**
     * z := z + delta on the router logits (continuous rerouting); under a selection bias the
     * selection score moves by delta too, so a large delta forces (or excludes) its expert.
     */
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
     * The router distribution becomes ω = {@code probabilities}: the top-k of ω is selected (bias and
     * expert groups do not apply) and ω's entries for the selected experts are the mixing weights,
     * renormalised only where the model renormalises. Natively the logits become the gating's
     * inverse of ω (log ω under softmax, C3PO; logit ω under sigmoid).
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
            Gating gating = checkLayer(info, layer).gating();
            checkVector(info, probabilities, "probabilities");
            if (gating == Gating.OTHER) {
                throw new InvalidRequestException("layer " + layer + " uses a gating function whose inverse is unknown; its distribution cannot be replaced");
            }
            double sum = 0;
            for (float p : probabilities) {
                if (p < 0 || (gating == Gating.SIGMOID && p > 1)) {
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

    /**
     * Weak routing, rank-k: only the model's own {@code rank}-th choice (1 = best; selection bias and
     * expert groups included) keeps its weight (SCMoE); renormalised where the model renormalises.
     */
    record KeepRank(int layer, int rank, PositionRange positions) implements RouterEdit {
        public KeepRank {
            Objects.requireNonNull(positions, "positions");
        }

        @Override
        public void validate(ModelInfo info) {
            int n = checkLayer(info, layer).selectableExperts();
            if (rank < 1 || rank > n) {
                throw new InvalidRequestException("rank " + rank + " out of range 1.." + n + " for layer " + layer);
            }
        }
    }

    /**
     * Weak routing, top-m: only the model's own m best choices keep their weights, renormalised over
     * them where the model renormalises (see {@link ScaleWeights} for unrenormalised top-m).
     */
    record KeepTop(int layer, int m, PositionRange positions) implements RouterEdit {
        public KeepTop {
            Objects.requireNonNull(positions, "positions");
        }

        @Override
        public void validate(ModelInfo info) {
            int n = checkLayer(info, layer).selectableExperts();
            if (m < 1 || m > n) {
                throw new InvalidRequestException("top-m " + m + " out of range 1.." + n + " for layer " + layer);
            }
        }
    }

    /**
     * Only {@code allowed} experts can be selected: the others are pushed far down, and any that is
     * still selected (fewer allowed experts than the model selects) gets weight 0.
     */
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

    /**
     * The weight lever: the final mixing weight of the model's j-th choice is multiplied by
     * {@code scales[j]} (length = experts used), after any renormalisation, so the rest is not
     * renormalised. Scales (1, …, 1, 0, …, 0) with m ones give SCMoE's raw top-m weak view.
     */
    record ScaleWeights(int layer, float[] scales, PositionRange positions) implements RouterEdit {
        public ScaleWeights {
            scales = copy(scales, "scales");
            Objects.requireNonNull(positions, "positions");
        }

        /** Keeps the first m choices at their own weights and zeroes the rest. */
        public static ScaleWeights keepTop(int layer, int expertsUsed, int m, PositionRange positions) {
            if (m < 0 || m > expertsUsed) {
                throw new InvalidRequestException("top-m " + m + " out of range 0.." + expertsUsed);
            }
            float[] s = new float[expertsUsed];
            Arrays.fill(s, 0, m, 1f);
            return new ScaleWeights(layer, s, positions);
        }

        @Override
        public float[] scales() {
            return scales.clone();
        }

        @Override
        public void validate(ModelInfo info) {
            checkLayer(info, layer);
            if (scales.length != info.expertsUsed()) {
                throw new InvalidRequestException("scales has length " + scales.length + " but the model selects " + info.expertsUsed() + " experts");
            }
            for (int i = 0; i < scales.length; i++) {
                if (!Float.isFinite(scales[i]) || scales[i] < 0) {
                    throw new InvalidRequestException("scales[" + i + "] must be finite and >= 0, got " + scales[i]);
                }
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ScaleWeights(int l, float[] s, PositionRange p) && l == layer && Arrays.equals(s, scales) && p.equals(positions);
        }

        @Override
        public int hashCode() {
            return Objects.hash(layer, Arrays.hashCode(scales), positions);
        }
    }

    /**
     * SteerMoE's rule, per token: a promoted expert ({@code offsets[e] > 0}) takes the token's highest
     * router score plus its offset, a suppressed one ({@code offsets[e] < 0}) the lowest score plus its
     * offset; 0 leaves an expert alone. The expert then ranks first (last) with a weight next to the
     * token's best (worst) expert's, instead of the near-one weight a large delta would give it.
     * Under a selection bias the selection scores are steered the same way.
     */
    record Steer(int layer, float[] offsets, PositionRange positions) implements RouterEdit {
        public Steer {
            offsets = copy(offsets, "offsets");
            Objects.requireNonNull(positions, "positions");
        }

        @Override
        public float[] offsets() {
            return offsets.clone();
        }

        @Override
        public void validate(ModelInfo info) {
            checkLayer(info, layer);
            checkVector(info, offsets, "offsets");
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Steer(int l, float[] v, PositionRange p) && l == layer && Arrays.equals(v, offsets) && p.equals(positions);
        }

        @Override
        public int hashCode() {
            return Objects.hash(layer, Arrays.hashCode(offsets), positions);
        }
    }

    /**
     * Dynamic expert count (top-p routing), per token: of the experts the model selected, the fewest,
     * largest weight first, whose probability mass reaches {@code p} keep their weights and the rest
     * get 0 (the weight lever, so it cannot use more experts than the model selects). The mass is the
     * weights' own where they are softmax probabilities over all experts (OLMoE: if the selected
     * experts hold less than p, all stay), else their share of the selected weight; where the model
     * renormalises, the kept weights are scaled back to the selected total.
     */
    record TopP(int layer, float p, PositionRange positions) implements RouterEdit {
        /** The most experts per token the native top-p handles. */
        public static final int MAX_EXPERTS_USED = 64;

        public TopP {
            if (!(p > 0 && p <= 1)) {
                throw new InvalidRequestException("top-p must lie in (0, 1], got " + p);
            }
            Objects.requireNonNull(positions, "positions");
        }

        @Override
        public void validate(ModelInfo info) {
            checkLayer(info, layer);
            if (info.expertsUsed() > MAX_EXPERTS_USED) {
                throw new InvalidRequestException("top-p handles at most " + MAX_EXPERTS_USED + " experts per token; the model selects " + info.expertsUsed());
            }
        }
    }

    private static float[] copy(float[] v, String what) {
        return Objects.requireNonNull(v, what).clone();
    }

    private static LayerRouting checkLayer(ModelInfo info, int layer) {
        if (!info.isMoe()) {
            throw new InvalidRequestException("model '" + info.architecture() + "' has no MoE layers; routing edits need a Mixture-of-Experts model");
        }
        if (!info.isMoeLayer(layer)) {
            throw new InvalidRequestException("layer " + layer + " is not a MoE layer (MoE layers: " + info.moeLayers() + ")");
        }
        LayerRouting routing = info.routing(layer);
        if (!routing.hasRouter()) {
            throw new InvalidRequestException("layer " + layer + " is hash-routed: its experts follow from the token id, there is no router to edit");
        }
        return routing;
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
