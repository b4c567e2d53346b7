package dev.moeadapter.spring.web;

import dev.moeadapter.serving.BadParameterException;
import dev.moeadapter.serving.routing.RoutingTraceRequest;

import java.util.List;

/**
 * The request field {@code routing_trace} (native and OpenAI endpoints): {@code {}} asks for the
 * answer's routed experts and weights; {@code "probabilities": [layer, …]} for the full router
 * probabilities of those MoE layers besides.
 */
public record RoutingTraceOption(List<Integer> probabilities) {
    public static RoutingTraceRequest toRequest(RoutingTraceOption option) {
        if (option == null) {
            return null;
        }
        if (option.probabilities() != null && option.probabilities().contains(null)) {
            throw new BadParameterException("routing_trace.probabilities", "layers must not be null");
        }
        return new RoutingTraceRequest(option.probabilities());
    }
}
