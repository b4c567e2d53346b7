package dev.moeadapter.scmoe;

import dev.moeadapter.core.InvalidRequestException;

import java.util.Objects;

/**
 * SCMoE settings: next-token scores (1+β)·z_strong − β·z_weak over the tokens with
 * p_strong ≥ α·max p_strong. Paper defaults: α = 0.1, β = 0.5 (searched in {0.1 … 0.9}), weak = rank-2.
 */
public record ScmoeSettings(WeakRouting weak, float alpha, float beta) {
    public static final ScmoeSettings DEFAULTS = new ScmoeSettings(new WeakRouting.RankK(2), 0.1f, 0.5f);

    public ScmoeSettings {
        Objects.requireNonNull(weak, "weak");
        if (!(alpha > 0 && alpha <= 1)) {
            throw new InvalidRequestException("scmoe alpha must be in (0, 1], got " + alpha);
        }
        if (!(beta >= 0) || !Float.isFinite(beta)) {
            throw new InvalidRequestException("scmoe beta must be finite and >= 0, got " + beta);
        }
    }

    public ScmoeSettings withBeta(float b) {
        return new ScmoeSettings(weak, alpha, b);
    }

    public ScmoeSettings withAlpha(float a) {
        return new ScmoeSettings(weak, a, beta);
    }

    public ScmoeSettings withWeak(WeakRouting w) {
        return new ScmoeSettings(w, alpha, beta);
    }
}
