package dev.moeadapter.rerouting;

import dev.moeadapter.core.optim.SpsaDescent;

/**
 * The outcome of a prompt's prefill round, as kept for reuse: the delta space fixed by the prompt's
 * routing and the optimiser state after the round (θ, hence δ, and what later rounds continue from).
 * Immutable: it holds its own copy of the optimiser and hands out copies.
 */
final class TunedPrompt {
    private final DeltaSpace space;
    private final SpsaDescent optimizer;

    TunedPrompt(DeltaSpace space, SpsaDescent optimizer) {
        this.space = space;
        this.optimizer = optimizer.copy();
    }

    /** Immutable once built. */
    DeltaSpace space() {
        return space;
    }

    /** A fresh copy, for one request to continue from. */
    SpsaDescent optimizer() {
        return optimizer.copy();
    }
}
