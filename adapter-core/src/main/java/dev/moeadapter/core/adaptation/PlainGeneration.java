package dev.moeadapter.core.adaptation;

import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.RoutingPlan;

/** The baseline arm: the model's own routing, no adaptation. */
public final class PlainGeneration implements AdaptationStrategy {
    @Override
    public String name() {
        return "none";
    }

    @Override
    public int sequencesNeeded() {
        return 1;
    }

    @Override
    public RoutingViews routingViews() {
        return new RoutingViews.Unchanged();
    }

    @Override
    public GenerationResult generate(DecodeLane session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
        session.setPlan(0, RoutingPlan.EMPTY);
        return new Generator(session, 0).generate(request, listener, cancel);
    }
}
