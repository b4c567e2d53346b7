package dev.moeadapter.spring.ai;

import dev.moeadapter.c3po.Embedder;
import org.springframework.ai.embedding.EmbeddingModel;

import java.util.Objects;

/**
 * C3PO's neighbour search over an application's Spring AI {@link EmbeddingModel} (a sentence
 * encoder, as the C3PO paper uses) instead of the served model's hidden state. A reference set
 * must be built with the same embedder: its id ({@code spring-ai:<name>}) is recorded in the set
 * and checked when the set is loaded.
 */
public final class SpringAiEmbedder implements Embedder {

    private final EmbeddingModel model;
    private final String id;

    /** @param name names the embedding space (the embedding model), e.g. "all-MiniLM-L6-v2" */
    public SpringAiEmbedder(EmbeddingModel model, String name) {
        this.model = Objects.requireNonNull(model, "model");
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("the embedding model needs a name: reference sets record which embedder built them");
        }
        this.id = "spring-ai:" + name;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public boolean usesHiddenState() {
        return false;
    }

    @Override
    public float[] embed(String prompt, float[] meanHiddenState) {
        return model.embed(prompt);
    }
}
