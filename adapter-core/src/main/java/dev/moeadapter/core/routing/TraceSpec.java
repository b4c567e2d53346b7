package dev.moeadapter.core.routing;

import java.util.Objects;

/**
 * What to record of a sequence's routing: the selected experts and mixing weights of every token
 * and MoE layer ({@code routes}), and the full router probability vectors at {@code probabilities}.
 */
public record TraceSpec(boolean routes, PositionRange probabilities) {
    public static final TraceSpec OFF = new TraceSpec(false, PositionRange.NONE);
    public static final TraceSpec ROUTES = new TraceSpec(true, PositionRange.NONE);

    public TraceSpec {
        Objects.requireNonNull(probabilities, "probabilities");
    }

    public static TraceSpec routesAndProbabilities(PositionRange probabilities) {
        return new TraceSpec(true, probabilities);
    }

    public boolean isOff() {
        return !routes && probabilities.isEmpty();
    }
}
