package dev.moeadapter.c3po;

/**
 * Turns a prompt into the vector its neighbours are searched by. The default is the served
 * model's own mean-pooled final hidden state ({@link HiddenStateEmbedder}), which the prompt's
 * plain pass yields at no extra cost; {@link CharNgramEmbedder} needs no model at all (hashed
 * character trigrams of the text); an application may supply another embedding model instead
 * (e.g. a sentence encoder, as the paper uses). A reference set records the embedder's id and is
 * only used with the same embedder.
 */
public interface Embedder {
    /** Names the embedding space, e.g. "model-mean-hidden-state" or "all-MiniLM-L6-v2". */
    String id();

    /** Whether {@link #embed} wants the mean of the served model's final hidden states over the prompt. */
    boolean usesHiddenState();

    /**
     * @param prompt          the prompt text
     * @param meanHiddenState the served model's mean final hidden state over the prompt's tokens,
     *                        or null when {@link #usesHiddenState()} is false
     */
    float[] embed(String prompt, float[] meanHiddenState);

    /**
     * The built-in embedder with this id: {@link HiddenStateEmbedder#ID} or {@link CharNgramEmbedder#ID}
     * (e.g. the id a reference set records).
     */
    static Embedder builtIn(String id) {
        return switch (id) {
            case HiddenStateEmbedder.ID -> new HiddenStateEmbedder();
            case CharNgramEmbedder.ID -> new CharNgramEmbedder();
            default -> throw new dev.moeadapter.core.InvalidRequestException("no built-in embedder '" + id + "' (" + HiddenStateEmbedder.ID
                    + ", " + CharNgramEmbedder.ID + "); an application supplies other embedders itself");
        };
    }
}
