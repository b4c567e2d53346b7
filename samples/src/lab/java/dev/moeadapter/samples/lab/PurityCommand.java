package dev.moeadapter.samples.lab;

import dev.moeadapter.c3po.CharNgramEmbedder;
import dev.moeadapter.c3po.Embedder;
import dev.moeadapter.samples.cli.Cli;
import dev.moeadapter.spring.ai.SpringAiEmbedder;
import org.springframework.ai.transformers.TransformersEmbeddingModel;

import java.nio.file.Path;
import java.util.List;

/**
 * {@code ./moe lab purity}: {@link LabPurity}'s table with three kinds of embedder: character trigrams,
 * a Spring AI {@code EmbeddingModel} (C3PO's paper searches neighbours with a sentence encoder) and each
 * model's hidden state. The Spring AI one is Spring AI's own ONNX {@link TransformersEmbeddingModel} on
 * all-MiniLM-L6-v2, read from the model and tokenizer that langchain4j's Maven artifact carries in its jar,
 * so nothing is downloaded from a model hub; it reaches C3PO through the starter's {@link SpringAiEmbedder},
 * as an application's own {@code EmbeddingModel} bean would.
 */
public final class PurityCommand {
    private PurityCommand() {}

    /** all-MiniLM-L6-v2 through Spring AI's transformers embedding model. */
    static Embedder miniLm() throws Exception {
        TransformersEmbeddingModel model = new TransformersEmbeddingModel();
        model.setModelResource("classpath:all-minilm-l6-v2.onnx");
        model.setTokenizerResource("classpath:all-minilm-l6-v2-tokenizer.json");
        model.setResourceCacheDirectory(Path.of("target", "spring-ai-onnx").toAbsolutePath().toString()); // the 90 MB model, unpacked once from the jar
        model.afterPropertiesSet();
        return new SpringAiEmbedder(model, "all-MiniLM-L6-v2");
    }

    public static void main(String[] args) throws Exception {
        Cli.run("lab purity", null, () -> {
            LabPurity.run(args, List.of(new CharNgramEmbedder(), miniLm()));
        });
    }
}
