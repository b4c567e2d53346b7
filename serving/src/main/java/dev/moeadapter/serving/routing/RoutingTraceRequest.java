package dev.moeadapter.serving.routing;

import java.util.List;

/**
 * A client's request for its answer's routing: the selected experts and their weights of every
 * token and MoE layer, and the full router probabilities of {@code probabilityLayers} (model layer
 * indices; empty for none).
 */
public record RoutingTraceRequest(List<Integer> probabilityLayers) {
    public RoutingTraceRequest {
        probabilityLayers = probabilityLayers == null ? List.of() : List.copyOf(probabilityLayers);
    }

    /** What this request reads of the routing, for an arm's {@link TraceLevel}. */
    public TraceLevel level() {
        return probabilityLayers.isEmpty() ? TraceLevel.EXPERTS : TraceLevel.PROBABILITIES;
    }
}
