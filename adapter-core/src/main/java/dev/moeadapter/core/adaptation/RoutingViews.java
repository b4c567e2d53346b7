package dev.moeadapter.core.adaptation;

/**
 * Where a strategy's routing can be compared with the model's own, for the routing summary that
 * tells how far an answer's routing moved from base (see {@link AdaptationStrategy#routingViews()}).
 */
public sealed interface RoutingViews {
    /** The strategy routes with the model's own router: nothing moved. */
    record Unchanged() implements RoutingViews {
    }

    /**
     * The answer is decoded on {@code sequence} under edited routing; the base is found by decoding
     * the same tokens again without edits.
     */
    record Planned(int sequence) implements RoutingViews {
    }

    /**
     * Two views decode the same tokens side by side: {@code adapted} under the method's routing and
     * {@code base} under the model's own (SCMoE's weak and strong views).
     */
    record SideBySide(int adapted, int base) implements RoutingViews {
    }
}
