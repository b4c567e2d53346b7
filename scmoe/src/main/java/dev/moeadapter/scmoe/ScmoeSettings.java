package dev.moeadapter.scmoe;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.SettingSpec;
import dev.moeadapter.core.adaptation.SettingSpec.Range;
import dev.moeadapter.core.adaptation.SettingsSchema;
import dev.moeadapter.core.adaptation.StrategySettings;

import java.util.Objects;

/**
 * SCMoE settings: next-token scores (1+β)·z_strong − β·z_weak over the tokens with
 * p_strong ≥ α·max p_strong. Paper defaults: α = 0.1, β = 0.5 (searched in {0.1 … 0.9}), weak = rank-2.
 *
 * @param maskEos never pick the end-of-generation token, as the released code does unless run with
 *                {@code --early_stop}: the answer runs to its token limit or a stop string (greedy
 *                decoding only)
 */
public record ScmoeSettings(WeakRouting weak, float alpha, float beta, boolean maskEos) {
    /** The strongest contrast: far beyond the paper's 0.1–1, and small enough that the scores stay finite. */
    public static final float MAX_BETA = 1000f;
    public static final ScmoeSettings DEFAULTS = new ScmoeSettings(new WeakRouting.RankK(2), 0.1f, 0.5f, false);

    /** The settings an arm, a request or a flag may give, with {@link #DEFAULTS}' values as defaults. */
    public static final SettingsSchema SCHEMA = SettingsSchema.of("scmoe",
            SettingSpec.number("alpha", Range.above(0, 1), DEFAULTS.alpha(),
                    "Plausibility mask: only tokens with p_strong >= alpha * max p_strong are candidates."),
            SettingSpec.number("beta", Range.closed(0, MAX_BETA), DEFAULTS.beta(),
                    "Contrast strength: tokens are scored (1 + beta) * z_strong - beta * z_weak."),
            SettingSpec.text("weak", WeakRouting.FORM, "rank:K | routed-tok:I | top:M", DEFAULTS.weak().label(),
                    "The weak view: only the K-th best expert (from 1), the released code's 0-based rank I, or the model's M best experts."),
            SettingSpec.bool("mask-eos", DEFAULTS.maskEos(),
                    "Never pick the end-of-generation token, as the released code does (greedy decoding only)."));

    public ScmoeSettings {
        Objects.requireNonNull(weak, "weak");
        if (!(alpha > 0 && alpha <= 1)) {
            throw new InvalidRequestException("scmoe alpha must be in (0, 1], got " + alpha);
        }
        if (!(beta >= 0 && beta <= MAX_BETA)) {
            throw new InvalidRequestException("scmoe beta must be in [0, " + (int) MAX_BETA + "], got " + beta);
        }
    }

    /** Settings that let the end-of-generation token be picked. */
    public ScmoeSettings(WeakRouting weak, float alpha, float beta) {
        this(weak, alpha, beta, false);
    }

    /**
     * These settings with those given (an arm's, a request's, command-line flags; see {@link #SCHEMA})
     * applied on top; unknown names and bad values are refused, naming the setting.
     */
    public ScmoeSettings withOverrides(StrategySettings s) {
        SettingsSchema.Values v = SCHEMA.parse(s);
        if (v.isEmpty()) {
            return this;
        }
        String w = v.text("weak", null);
        return new ScmoeSettings(w == null ? weak : WeakRouting.parse(w), (float) v.number("alpha", alpha), (float) v.number("beta", beta),
                v.bool("mask-eos", maskEos));
    }

    public ScmoeSettings withBeta(float b) {
        return new ScmoeSettings(weak, alpha, b, maskEos);
    }

    public ScmoeSettings withAlpha(float a) {
        return new ScmoeSettings(weak, a, beta, maskEos);
    }

    public ScmoeSettings withWeak(WeakRouting w) {
        return new ScmoeSettings(w, alpha, beta, maskEos);
    }

    public ScmoeSettings withMaskEos(boolean m) {
        return new ScmoeSettings(weak, alpha, beta, m);
    }
}
