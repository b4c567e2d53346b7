package dev.moeadapter.core.engine;

/**
 * How one MoE layer routes, as seen in the running graph.
 *
 * @param renormalized      whether the selected weights sum to 1: divided by their sum (Mixtral) or a
 *                          softmax over the selected logits (gpt-oss)
 * @param selectionBias     whether selection reads score + bias while the weights read the score
 *                          (DeepSeek-V3, GLM-4.5)
 * @param selectableExperts experts left after group masking (all of them without expert groups): the
 *                          deepest rank an edit may keep
 * @param hasRouter         false for hash-routed layers, whose experts come from the token id: edits
 *                          are refused there
 * @param outputRowsOnly    the layer runs only for tokens that request output (most graphs cut the
 *                          last layer to those rows), so traces hold only those tokens for it
 */
public record LayerRouting(int layer, Gating gating, boolean renormalized, boolean selectionBias,
                           int selectableExperts, boolean hasRouter, boolean outputRowsOnly) {
}
