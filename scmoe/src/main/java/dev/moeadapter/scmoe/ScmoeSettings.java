package dev.moeadapter.scmoe;

import dev.moeadapter.core.InvalidRequestException;

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
    public static final ScmoeSettings DEFAULTS = new ScmoeSettings(new WeakRouting.RankK(2), 0.1f, 0.5f, false);

    public ScmoeSettings {
        Objects.requireNonNull(weak, "weak");
        if (!(alpha > 0 && alpha <= 1)) {
            throw new InvalidRequestException("scmoe alpha must be in (0, 1], got " + alpha);
        }
        if (!(beta >= 0) || !Float.isFinite(beta)) {
            throw new InvalidRequestException("scmoe beta must be finite and >= 0, got " + beta);
        }
    }

    /** Settings that let the end-of-generation token be picked. */
    public ScmoeSettings(WeakRouting weak, float alpha, float beta) {
        this(weak, alpha, beta, false);
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
