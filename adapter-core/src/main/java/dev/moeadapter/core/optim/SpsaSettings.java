package dev.moeadapter.core.optim;

import dev.moeadapter.core.InvalidRequestException;

import java.util.Objects;

/**
 * Batched antithetic SPSA: {@code directions} Rademacher directions per step, each probed at
 * θ ± perturbation·u, so one step needs 2·directions loss evaluations; the estimate feeds Adam.
 */
public record SpsaSettings(float perturbation, int directions, AdamSettings adam) {
    public static final SpsaSettings DEFAULTS = new SpsaSettings(0.1f, 4, AdamSettings.DEFAULTS);
    /** Most directions per step: each pair is two sequences of one batch, so q bounds memory and work. */
    public static final int MAX_DIRECTIONS = 32;

    public SpsaSettings {
        if (!(perturbation > 0) || !Float.isFinite(perturbation)) {
            throw new InvalidRequestException("SPSA perturbation size c must be finite and > 0, got " + perturbation);
        }
        if (directions < 1 || directions > MAX_DIRECTIONS) {
            throw new InvalidRequestException("SPSA directions per step q must be in 1.." + MAX_DIRECTIONS + ", got " + directions);
        }
        Objects.requireNonNull(adam, "adam");
    }

    /** Loss evaluations one step needs: the 2q perturbed points. */
    public int pointsPerStep() {
        return 2 * directions;
    }

    public SpsaSettings withPerturbation(float c) {
        return new SpsaSettings(c, directions, adam);
    }

    public SpsaSettings withDirections(int q) {
        return new SpsaSettings(perturbation, q, adam);
    }

    public SpsaSettings withLearningRate(float lr) {
        return new SpsaSettings(perturbation, directions, adam.withLearningRate(lr));
    }
}
