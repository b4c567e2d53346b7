package dev.moeadapter.core.routing;

import java.util.List;
import java.util.Optional;

/** Routing recorded during decodes since the last drain. */
public record RouterTrace(List<TokenRoute> routes, List<TokenProbabilities> probabilities) {
    public RouterTrace {
        routes = List.copyOf(routes);
        probabilities = List.copyOf(probabilities);
    }

    public Optional<TokenRoute> route(int sequence, int position, int layer) {
        return routes.stream().filter(r -> r.sequence() == sequence && r.position() == position && r.layer() == layer).findFirst();
    }

    public Optional<TokenProbabilities> probabilities(int sequence, int position, int layer) {
        return probabilities.stream().filter(p -> p.sequence() == sequence && p.position() == position && p.layer() == layer).findFirst();
    }
}
