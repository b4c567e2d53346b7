package dev.moeadapter.c3po;

/**
 * A reference chosen for a prompt.
 *
 * @param index      its position in the reference set
 * @param similarity cosine of embeddings (or, for mode finding, the negated squared pathway distance)
 * @param weight     its Gaussian kernel value (not normalised)
 */
public record Neighbour(int index, String id, double similarity, double weight) {
}
