package dev.moeadapter.scmoe;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;

/** The deliberately weaker routing of SCMoE's weak view, applied to every MoE layer and token. */
public sealed interface WeakRouting {
    /** Checks the setting against the model; throws {@link InvalidRequestException} naming the problem. */
    void validate(ModelInfo info);

    RouterEdit editFor(int layer);

    default RoutingPlan plan(ModelInfo info) {
        validate(info);
        return new RoutingPlan(info.moeLayers().stream().map(this::editFor).toList());
    }

    /** Only the expert ranked k-th (1 = best) is used, with weight ≈ 1 (Mixtral: rank-2 in the paper). */
    record RankK(int k) implements WeakRouting {
        @Override
        public void validate(ModelInfo info) {
            requireMoe(info);
            if (k < 1 || k > info.experts()) {
                throw new InvalidRequestException("scmoe rank-k: k must be in 1.." + info.experts() + " for this model, got " + k);
            }
        }

        @Override
        public RouterEdit editFor(int layer) {
            return new RouterEdit.KeepRank(layer, k, PositionRange.ALL);
        }
    }

    /** Only the m best experts, renormalised over them (DeepSeekMoE: m in {1, 2, 3} of 6). */
    record TopM(int m) implements WeakRouting {
        @Override
        public void validate(ModelInfo info) {
            requireMoe(info);
            if (m < 1 || m >= info.expertsUsed()) {
                throw new InvalidRequestException("scmoe top-m: m must be in 1.." + (info.expertsUsed() - 1)
                        + " (fewer than the " + info.expertsUsed() + " experts the model uses), got " + m);
            }
        }

        @Override
        public RouterEdit editFor(int layer) {
            return new RouterEdit.KeepTop(layer, m, PositionRange.ALL);
        }
    }

    private static void requireMoe(ModelInfo info) {
        if (!info.isMoe()) {
            throw new InvalidRequestException("scmoe needs a Mixture-of-Experts model; '" + info.architecture() + "' has no MoE layers");
        }
    }
}
