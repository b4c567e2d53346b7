package dev.moeadapter.rerouting;

import dev.moeadapter.core.optim.SpsaOptimizer;

/**
 * The outcome of a prompt's prefill round, as kept for reuse: the delta space fixed by the prompt's
 * routing and the optimiser state after the round (θ, hence δ, and what later rounds continue from).
 * Immutable: it holds its own copy of the optimiser and hands out copies.
 */
final class TunedPrompt {
    private final DeltaSpace space;
    private final SpsaOptimizer optimizer;

    TunedPrompt(DeltaSpace space, SpsaOptimizer optimizer) {
        this.space = space;
        this.optimizer = optimizer.copy();
    }

    /** Immutable once built. */
    DeltaSpace space() {
        return space;
    }

    /** A fresh copy, for one request to continue from. */
    SpsaOptimizer optimizer() {
        return optimizer.copy();
    }
}
