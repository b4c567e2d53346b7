package dev.moeadapter.c3po;

import java.util.Arrays;
import java.util.Objects;

/**
 * One correctly answered labelled prompt of a reference set: answered by the base model, or under
 * an optimised pathway ({@link ReferencePathwayOptimiser}).
 *
 * @param embedding the prompt's embedding as the embedder gave it (centred and normalised when written)
 * @param pathway   router probabilities of the last prompt token, every MoE layer in order, experts
 *                  within: its plain pathway, or the optimised one it was answered correctly under
 * @param prompt    the prompt's tokens (NGD prefills all but the last)
 * @param answer    the first tokens of the model's own correct answer under that pathway (the
 *                  targets of the neighbour loss)
 */
public record ReferenceItem(String id, float[] embedding, float[] pathway, int[] prompt, int[] answer) {
    public ReferenceItem {
        Objects.requireNonNull(id, "id");
        embedding = embedding.clone();
        pathway = pathway.clone();
        prompt = prompt.clone();
        answer = answer.clone();
    }

    @Override
    public float[] embedding() {
        return embedding.clone();
    }

    @Override
    public float[] pathway() {
        return pathway.clone();
    }

    @Override
    public int[] prompt() {
        return prompt.clone();
    }

    @Override
    public int[] answer() {
        return answer.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ReferenceItem r && id.equals(r.id) && Arrays.equals(embedding, r.embedding)
                && Arrays.equals(pathway, r.pathway) && Arrays.equals(prompt, r.prompt) && Arrays.equals(answer, r.answer);
    }

    @Override
    public int hashCode() {
        return id.hashCode() * 31 + Arrays.hashCode(prompt);
    }
}
