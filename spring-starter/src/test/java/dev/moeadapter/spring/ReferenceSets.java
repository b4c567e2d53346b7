package dev.moeadapter.spring;

import dev.moeadapter.c3po.Embedder;
import dev.moeadapter.c3po.HiddenStateEmbedder;
import dev.moeadapter.c3po.ModelFingerprint;
import dev.moeadapter.c3po.ReferenceSet;
import dev.moeadapter.c3po.ReferenceSetBuilder;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** C3PO reference sets for the starter's tests, built by the real builder on a test model. */
final class ReferenceSets {
    private ReferenceSets() {}

    /** Every prompt is kept: the label accepts any non-empty answer. */
    static Path build(Model model, List<String> prompts) {
        return build(model, prompts, new HiddenStateEmbedder());
    }

    static Path build(Model model, List<String> prompts, Embedder embedder) {
        try {
            Path file = Files.createTempFile("starter", ".c3po");
            file.toFile().deleteOnExit();
            try (Session s = model.newSession(new SessionParams(256, 64, 1, 1, 1))) {
                new ReferenceSetBuilder(model, s, embedder, 4, 10).build(prompts.stream()
                        .map(p -> new ReferenceSetBuilder.Example(p, p, 4, List.of(), text -> !text.isEmpty())).toList(), file);
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * An empty set bound to {@code model}'s file, written by hand: for a model c3po cannot run on,
     * which the builder refuses.
     */
    static Path empty(Model model) {
        try {
            Path file = Files.createTempFile("starter-empty", ".c3po");
            file.toFile().deleteOnExit();
            ReferenceSet.write(file, new ReferenceSet.Header(ModelFingerprint.sha256(model.path()), HiddenStateEmbedder.ID,
                    model.info().moeLayers(), model.info().experts()), List.of());
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static final List<String> PROMPTS = List.of("Once upon a time", "The capital of France is", "Q: 2 plus 3 is? A:",
            "My favourite colour is", "Q: 4 plus 4 is? A:");
}
