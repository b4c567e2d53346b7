package dev.moeadapter.samples.lab;

import dev.moeadapter.core.gguf.CharVocabulary;

/**
 * Shape of a lab model, as the GGUF metadata states it. {@code olmoe}: q/k RMS norm over the whole
 * projection, NEOX RoPE, top-k weights not renormalised. {@code llama} (Mixtral style): no q/k norm,
 * interleaved RoPE, top-k weights renormalised.
 */
public record TwinShape(String arch, int embd, int heads, int layers, int experts, int topK, int ff, int context,
                        float eps, float ropeBase) {

    public static final int VOCAB = CharVocabulary.SIZE;

    public TwinShape {
        if (!arch.equals("olmoe") && !arch.equals("llama")) throw new IllegalArgumentException("arch must be olmoe or llama: " + arch);
        if (embd % heads != 0 || (embd / heads) % 2 != 0) throw new IllegalArgumentException("head dim must be an even divisor of embd");
        if (topK < 1 || topK > experts) throw new IllegalArgumentException("topK must be 1..experts");
    }

    public boolean olmoe() { return arch.equals("olmoe"); }

    public int headDim() { return embd / heads; }

    /** Lab v2, OLMoE style: 6 layers, 32 experts, top-4 (the shape that trains within an hour on one thread). */
    public static TwinShape olmoeStyle() { return new TwinShape("olmoe", 64, 4, 6, 32, 4, 32, 128, 1e-5f, 10000f); }

    /** Lab v2, Mixtral style: 6 layers, 8 experts, top-2 renormalised. */
    public static TwinShape mixtralStyle() { return new TwinShape("llama", 64, 4, 6, 8, 2, 64, 128, 1e-5f, 10000f); }

    /** This shape with other sizes. */
    public TwinShape resized(int embd, int layers, int experts, int topK, int ff) {
        return new TwinShape(arch, embd, heads, layers, experts, topK, ff, context, eps, ropeBase);
    }

    public long parameters() {
        long e = embd;
        long perLayer = 4 * e * e + 2 * e + (olmoe() ? 2 * e : 0) + e * experts + 3L * e * ff * experts;
        return 2L * e * VOCAB + e + layers * perLayer;
    }
}
