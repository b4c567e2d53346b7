package dev.moeadapter.core.adaptation;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.TokenListener;

/**
 * A test-time adaptation method. It receives a request and a decode lane of its own sequences
 * ({@link DecodeLane}: today a session the request holds, later a shared decode loop), may decode
 * whatever it needs on them (neighbours, perturbed copies, a weak view), sets
 * routing plans, and produces the answer.
 */
public interface AdaptationStrategy {
    /** Short name used in policies, metrics and reports, e.g. "none", "scmoe". */
    String name();

    /** How many sequences of a lane one request needs. */
    int sequencesNeeded();

    GenerationResult generate(DecodeLane lane, GenerationRequest request, TokenListener listener, CancellationToken cancel);

    /**
     * This strategy with {@code settings} (an arm's configuration, a request's overrides) applied on
     * top of its own; unknown names and bad values are an {@link InvalidRequestException} naming
     * the setting. A strategy without settings refuses any.
     */
    default AdaptationStrategy withSettings(StrategySettings settings) {
        if (!settings.isEmpty()) {
            throw new InvalidRequestException("adaptation '" + name() + "' takes no settings, got " + settings.values().keySet());
        }
        return this;
    }

    /** What this strategy, with its settings, needs of a model's routing and memory. */
    default ModelRequirements requirements() {
        return ModelRequirements.none(name());
    }

    /**
     * Checks this strategy against {@code model} before any request runs: its {@link #requirements()}
     * (an {@link UnsupportedModelException} with the reason), then its settings (e.g. an expert rank
     * the model does not have; an {@link InvalidRequestException} naming the setting). An override
     * checks its settings after calling this.
     */
    default void validate(ModelInfo model) {
        requirements().require(model);
    }

    /**
     * Where the routing of the generated tokens can be compared with the model's own: by default the
     * answer is decoded on sequence 0 under the strategy's routing plan.
     */
    default RoutingViews routingViews() {
        return new RoutingViews.Planned(0);
    }
}
