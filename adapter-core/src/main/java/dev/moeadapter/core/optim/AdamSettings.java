package dev.moeadapter.core.optim;

import dev.moeadapter.core.InvalidRequestException;

/** Adam's hyper-parameters. {@link #withLearningRate} keeps the standard betas and epsilon. */
public record AdamSettings(float learningRate, float beta1, float beta2, float epsilon) {
    public static final AdamSettings DEFAULTS = new AdamSettings(0.05f, 0.9f, 0.999f, 1e-8f);

    public AdamSettings {
        if (!(learningRate > 0) || !Float.isFinite(learningRate)) {
            throw new InvalidRequestException("learning rate must be finite and > 0, got " + learningRate);
        }
        if (!(beta1 >= 0 && beta1 < 1)) {
            throw new InvalidRequestException("Adam beta1 must be in [0, 1), got " + beta1);
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new InvalidRequestException("Adam beta2 must be in [0, 1), got " + beta2);
        }
        if (!(epsilon > 0) || !Float.isFinite(epsilon)) {
            throw new InvalidRequestException("Adam epsilon must be finite and > 0, got " + epsilon);
        }
    }

    public AdamSettings withLearningRate(float lr) {
        return new AdamSettings(lr, beta1, beta2, epsilon);
    }
}
