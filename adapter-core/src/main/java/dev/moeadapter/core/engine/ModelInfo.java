package dev.moeadapter.core.engine;

import java.util.List;

/**
 * What the engine knows about a loaded model. MoE layers, expert counts, gating and
 * renormalisation come from the running graph (a one-token probe decode), not from per-architecture
 * tables, so they hold for every architecture llama.cpp runs.
 *
 * @param renormalized whether top-k mixing weights are divided by their sum (Mixtral: yes, OLMoE: no)
 * @param selectionBias whether expert selection adds a bias to the probabilities (DeepSeek-V3 style)
 */
public record ModelInfo(String architecture, String description, int layers, List<Integer> moeLayers,
                        int experts, int expertsUsed, Gating gating, boolean renormalized, boolean selectionBias,
                        int vocabSize, int trainContext, int embeddingSize, int bos, int eos, boolean addBos) {
    public ModelInfo {
        moeLayers = List.copyOf(moeLayers);
    }

    public boolean isMoe() {
        return !moeLayers.isEmpty();
    }

    public boolean isMoeLayer(int layer) {
        return moeLayers.contains(layer);
    }

    public int lastMoeLayer() {
        return moeLayers.isEmpty() ? -1 : moeLayers.getLast();
    }
}
