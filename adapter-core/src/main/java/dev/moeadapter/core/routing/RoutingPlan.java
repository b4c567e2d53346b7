package dev.moeadapter.core.routing;

import dev.moeadapter.core.engine.ModelInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** The router edits of one sequence, applied in order (so a delta may follow a replacement). */
public record RoutingPlan(List<RouterEdit> edits) {
    public static final RoutingPlan EMPTY = new RoutingPlan(List.of());

    public RoutingPlan {
        edits = List.copyOf(Objects.requireNonNull(edits, "edits"));
    }

    public static RoutingPlan of(RouterEdit... edits) {
        return new RoutingPlan(List.of(edits));
    }

    public boolean isEmpty() {
        return edits.isEmpty();
    }

    public RoutingPlan with(RouterEdit edit) {
        List<RouterEdit> all = new ArrayList<>(edits);
        all.add(edit);
        return new RoutingPlan(all);
    }

    public void validate(ModelInfo info) {
        edits.forEach(e -> e.validate(info));
    }
}
