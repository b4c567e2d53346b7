package dev.moeadapter.serving.routing;

import java.util.List;

/**
 * How far an answer's routing moved from the model's own, per MoE layer: the mean, over the forward
 * passes that produced the answer's tokens, of the total-variation distance ½·Σ|p − q| between the
 * router's distribution over experts under the arm's routing (p) and under the model's own (q).
 * 0 = the same routing, 1 = disjoint experts. Plain generation moves nothing (0 everywhere).
 *
 * @param tokens the forward passes compared (one per generated token)
 * @param mean   the mean over layers
 */
public record RoutingSummary(int tokens, double mean, List<LayerShift> layers) {
    public RoutingSummary {
        layers = List.copyOf(layers);
    }

    /** The distance of one MoE layer, averaged over the compared tokens. */
    public record LayerShift(int layer, double shift) {
    }

    /** Routing as the model's own: every layer 0. */
    public static RoutingSummary unchanged(List<Integer> moeLayers, int tokens) {
        return new RoutingSummary(tokens, 0, moeLayers.stream().map(l -> new LayerShift(l, 0)).toList());
    }
}
