package dev.moeadapter.serving.routing;

import java.util.List;

/**
 * The routing of rows {@code [firstRow, firstRow + rows)} of an answer: row {@code p} is the forward
 * pass over the token at position {@code p} of prompt + completion (the pass that produced the token
 * after it). Arrays are row-major and padded with −1 where a layer did not route a row (see
 * {@link LayerCoverage}) or a token used fewer than {@code topK} experts.
 *
 * @param layers        the MoE layers (model layer indices), the second axis of the arrays
 * @param experts       [rows, layers, topK] expert ids, best first
 * @param weights       [rows, layers, topK] their mixing weights
 * @param probabilities the full router probabilities of the layers asked for
 */
public record RoutedExperts(int firstRow, int rows, List<Integer> layers, int topK, int[] experts, float[] weights,
                           List<LayerCoverage> coverage, List<LayerProbabilities> probabilities) {
    public RoutedExperts {
        layers = List.copyOf(layers);
        coverage = List.copyOf(coverage);
        probabilities = List.copyOf(probabilities);
    }

    /**
     * Which rows a layer routed: all decoded rows, unless it runs only for rows that request output
     * (most graphs cut the last layer so). A layer without a router (hash-routed) takes its experts
     * from the token id.
     *
     * @param spans the routed rows as half-open ranges
     */
    public record LayerCoverage(int layer, boolean hasRouter, boolean outputRowsOnly, List<RowSpan> spans) {
        public LayerCoverage {
            spans = List.copyOf(spans);
        }
    }

    /** Rows {@code [from, to)}. */
    public record RowSpan(int from, int to) {
    }

    /** [rows, experts] router probabilities of one layer, −1 in rows it did not route. */
    public record LayerProbabilities(int layer, int experts, float[] values) {
    }
}
