package dev.moeadapter.core.engine;

/** The output rows of a decode, by the index of their row in the batch that was decoded. */
public interface DecodeOutputs {
    float[] logits(int batchIndex);

    int argmax(int batchIndex);

    int sample(Sampler sampler, int batchIndex);

    /** SCMoE's contrast choice between a strong and a weak output row, computed natively. */
    int pickContrast(Sampler sampler, int strongIndex, int weakIndex, float alpha, float beta);

    float[] contrastScores(int strongIndex, int weakIndex, float alpha, float beta);
}
