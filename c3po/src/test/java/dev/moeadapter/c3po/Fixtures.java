package dev.moeadapter.c3po;

import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.Generator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reference sets built for real by the builder on the random test models. */
final class Fixtures {
    static final int MAX_TOKENS = 6;

    private Fixtures() {}

    static Session session(Model m, int sequences) {
        return m.newSession(new SessionParams(2048, 64, sequences, 1, 1));
    }

    /** The model's own greedy answer to a prompt: a label it gets right. */
    static String answerOf(Model m, String prompt) {
        try (Session s = session(m, 1)) {
            return new Generator(s, 0).generate(GenerationRequest.greedy(m.tokenize(prompt), MAX_TOKENS)).text();
        }
    }

    /** An example labelled with {@code gold}; the model's answer must equal it. */
    static ReferenceSetBuilder.Example example(String id, String prompt, String gold) {
        return new ReferenceSetBuilder.Example(id, prompt, MAX_TOKENS, List.of(), gold::equals);
    }

    /** Examples labelled with the model's own answers, so each is kept. */
    static List<ReferenceSetBuilder.Example> answeredCorrectly(Model m, List<String> prompts) {
        List<ReferenceSetBuilder.Example> out = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            out.add(example("ref-" + i, prompts.get(i), answerOf(m, prompts.get(i))));
        }
        return out;
    }

    static Path build(Model m, List<ReferenceSetBuilder.Example> examples) {
        return build(m, examples, new HiddenStateEmbedder());
    }

    static Path build(Model m, List<ReferenceSetBuilder.Example> examples, Embedder embedder) {
        try {
            Path file = Files.createTempFile("c3po-test", ".c3po");
            file.toFile().deleteOnExit();
            try (Session s = session(m, 1)) {
                new ReferenceSetBuilder(m, s, embedder, 8, 10).build(examples, file);
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
