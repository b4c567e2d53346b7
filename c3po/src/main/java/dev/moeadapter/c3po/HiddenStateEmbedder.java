package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;

/** The default {@link Embedder}: the served model's final hidden state, averaged over the prompt's tokens. */
public final class HiddenStateEmbedder implements Embedder {
    public static final String ID = "model-mean-hidden-state";

    @Override
    public String id() {
        return ID;
    }

    @Override
    public boolean usesHiddenState() {
        return true;
    }

    @Override
    public float[] embed(String prompt, float[] meanHiddenState) {
        if (meanHiddenState == null) {
            throw new InvalidRequestException("the hidden-state embedder needs the prompt's mean hidden state");
        }
        return meanHiddenState.clone();
    }
}
