package dev.moeadapter.core.engine;

import java.util.List;

/**
 * What the engine knows about a loaded model. MoE layers, expert counts, gating and
 * renormalisation come from the running graph (a probe decode), not from per-architecture tables,
 * so they hold for every architecture llama.cpp runs.
 *
 * @param gating        the gating of the MoE layers, {@link Gating#OTHER} if they differ
 * @param renormalized  whether every MoE layer's selected weights sum to 1 (Mixtral, gpt-oss: yes; OLMoE: no)
 * @param selectionBias whether some MoE layer selects by score + bias (DeepSeek-V3 style)
 * @param memory        what the model keeps of past tokens, hence what a sequence can be rolled back to
 * @param routing       per MoE layer, in {@link #moeLayers()} order
 */
public record ModelInfo(String architecture, String description, int layers, List<Integer> moeLayers,
                        int experts, int expertsUsed, Gating gating, boolean renormalized, boolean selectionBias,
                        Memory memory, int vocabSize, int trainContext, int embeddingSize, int bos, int eos, boolean addBos,
                        List<LayerRouting> routing) {
    public ModelInfo {
        moeLayers = List.copyOf(moeLayers);
        routing = List.copyOf(routing);
        if (routing.size() != moeLayers.size()) {
            throw new IllegalArgumentException("one routing entry per MoE layer: " + routing.size() + " for " + moeLayers.size());
        }
    }

    /** Model-wide flags summarised from per-layer routing. */
    public static ModelInfo of(String architecture, String description, int layers, int experts, int expertsUsed,
                               int vocabSize, int trainContext, int embeddingSize, int bos, int eos, boolean addBos,
                               Memory memory, List<LayerRouting> routing) {
        List<Gating> gatings = routing.stream().map(LayerRouting::gating).distinct().toList();
        Gating gating = gatings.isEmpty() ? Gating.NONE : gatings.size() == 1 ? gatings.getFirst() : Gating.OTHER;
        boolean renormalized = !routing.isEmpty() && routing.stream().allMatch(LayerRouting::renormalized);
        boolean bias = routing.stream().anyMatch(LayerRouting::selectionBias);
        return new ModelInfo(architecture, description, layers, routing.stream().map(LayerRouting::layer).toList(), experts,
                expertsUsed, gating, renormalized, bias, memory, vocabSize, trainContext, embeddingSize, bos, eos, addBos, routing);
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

    /** Routing of a MoE layer; throws {@link IllegalArgumentException} for any other layer. */
    public LayerRouting routing(int layer) {
        int i = moeLayers.indexOf(layer);
        if (i < 0) {
            throw new IllegalArgumentException("layer " + layer + " is not a MoE layer");
        }
        return routing.get(i);
    }
}
