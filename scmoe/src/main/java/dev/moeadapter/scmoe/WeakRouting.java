package dev.moeadapter.scmoe;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.LayerRouting;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The deliberately weaker routing of SCMoE's weak view, applied to every MoE layer and token. */
public sealed interface WeakRouting {
    /** Checks the setting against the model; throws {@link InvalidRequestException} naming the problem. */
    void validate(ModelInfo info);

    /** The edit of one MoE layer of {@code info}'s model. */
    RouterEdit editFor(ModelInfo info, int layer);

    default RoutingPlan plan(ModelInfo info) {
        validate(info);
        return new RoutingPlan(info.moeLayers().stream().map(l -> editFor(info, l)).toList());
    }

    /** The forms {@link #parse} reads. */
    String FORM = "(rank|routed-tok|top):(\\d{1,4})";

    /** This weak view as the {@code weak} setting writes it, e.g. "rank:2". */
    String label();

    /**
     * {@code rank:K} (the paper's text: the K-th best expert, counting from 1), {@code routed-tok:I}
     * (the released code's {@code --student_routed_tok I}: the expert at 0-based rank I, so
     * {@code routed-tok:2} is the third best) or {@code top:M}.
     */
    static WeakRouting parse(String spec) {
        Matcher m = Pattern.compile(FORM).matcher(spec.trim());
        if (!m.matches()) {
            throw new InvalidRequestException("scmoe setting 'weak' must be rank:K, routed-tok:I or top:M, got '" + spec + "'");
        }
        int n = Integer.parseInt(m.group(2));
        return switch (m.group(1)) {
            case "rank" -> new RankK(n);
            case "routed-tok" -> RankK.ofReleasedCodeIndex(n);
            default -> new TopM(n);
        };
    }

    /** Only the expert ranked k-th (1 = best) is used, with weight ≈ 1 (Mixtral: rank-2 in the paper's text). */
    record RankK(int k) implements WeakRouting {
        /**
         * The released code's convention: {@code --student_routed_tok i} keeps the expert at 0-based
         * rank i, so its command's {@code 2} is the third best expert, rank-3 here.
         */
        public static RankK ofReleasedCodeIndex(int index) {
            return new RankK(index + 1);
        }

        @Override
        public String label() {
            return "rank:" + k;
        }

        @Override
        public void validate(ModelInfo info) {
            requireMoe(info);
            // groups leave fewer experts to rank (GLM-4.5: 8 of 16)
            int deepest = info.routing().stream().mapToInt(LayerRouting::selectableExperts).min().orElseThrow();
            if (k < 1 || k > deepest) {
                throw new InvalidRequestException("scmoe setting 'weak': k must be in 1.." + deepest + " for this model (rank:K counts from 1, "
                        + "routed-tok:I from 0, I in 0.." + (deepest - 1) + "); got rank:" + k + ", which is routed-tok:" + (k - 1));
            }
        }

        @Override
        public RouterEdit editFor(ModelInfo info, int layer) {
            return new RouterEdit.KeepRank(layer, k, PositionRange.ALL);
        }
    }

    /**
     * Only the model's m best experts, at the weights the model itself gives them: renormalised over
     * the m where the layer renormalises its selected weights (Mixtral, Qwen-MoE), their raw weights
     * otherwise (OLMoE, DeepSeekMoE: the paper's DeepSeek weak view, m in {1, 2, 3} of 6), which
     * only the weight lever {@link RouterEdit.ScaleWeights} can express — no logit edit can.
     */
    record TopM(int m) implements WeakRouting {
        @Override
        public String label() {
            return "top:" + m;
        }

        @Override
        public void validate(ModelInfo info) {
            requireMoe(info);
            if (m < 1 || m >= info.expertsUsed()) {
                throw new InvalidRequestException("scmoe top-m: m must be in 1.." + (info.expertsUsed() - 1)
                        + " (fewer than the " + info.expertsUsed() + " experts the model uses), got " + m);
            }
        }

        @Override
        public RouterEdit editFor(ModelInfo info, int layer) {
            return info.routing(layer).renormalized() ? new RouterEdit.KeepTop(layer, m, PositionRange.ALL)
                    : RouterEdit.ScaleWeights.keepTop(layer, info.expertsUsed(), m, PositionRange.ALL);
        }
    }

    private static void requireMoe(ModelInfo info) {
        if (!info.isMoe()) {
            throw new InvalidRequestException("scmoe needs a Mixture-of-Experts model; '" + info.architecture() + "' has no MoE layers");
        }
    }
}
