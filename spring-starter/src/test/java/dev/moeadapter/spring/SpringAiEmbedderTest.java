package dev.moeadapter.spring;

import dev.moeadapter.c3po.C3poStrategy;
import dev.moeadapter.c3po.Embedder;
import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import dev.moeadapter.spring.ai.SpringAiEmbedder;
import org.junit.jupiter.api.Test;
import org.springframework.ai.document.Document;
import org.springframework.ai.embedding.Embedding;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.ai.embedding.EmbeddingRequest;
import org.springframework.ai.embedding.EmbeddingResponse;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** An application's Spring AI EmbeddingModel becomes C3PO's embedder; reference sets must match it. */
class SpringAiEmbedderTest {

    /** A small deterministic sentence embedding: character bigrams hashed into 32 dimensions. */
    static final class BigramEmbeddingModel implements EmbeddingModel {
        @Override
        public EmbeddingResponse call(EmbeddingRequest request) {
            List<Embedding> out = new ArrayList<>();
            for (String text : request.getInstructions()) {
                float[] v = new float[32];
                for (int i = 0; i + 1 < text.length(); i++) v[Math.floorMod(text.substring(i, i + 2).hashCode(), 32)] += 1;
                out.add(new Embedding(v, out.size()));
            }
            return new EmbeddingResponse(out);
        }

        @Override
        public float[] embed(Document document) {
            return embed(document.getText());
        }
    }

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(MoeAdapterSpringAiEmbeddingAutoConfiguration.class, MoeAdapterAutoConfiguration.class))
            .withPropertyValues("moe.adapter.model=" + TestModels.file(RandomModels.Spec.olmoe()), "moe.adapter.threads=1",
                    "moe.adapter.context-size=128", "moe.adapter.batch-size=32", "moe.adapter.sessions=1",
                    "moe.adapter.c3po.algorithm=kr", "moe.adapter.c3po.embedding-model-name=bigrams");

    @Test
    void c3poSearchesNeighboursWithTheApplicationsEmbeddingModel() {
        BigramEmbeddingModel embeddings = new BigramEmbeddingModel();
        String refs = ReferenceSets.build(TestModels.olmoe(), ReferenceSets.PROMPTS, new SpringAiEmbedder(embeddings, "bigrams")).toString();
        runner.withBean(EmbeddingModel.class, () -> embeddings).withPropertyValues("moe.adapter.c3po.reference-set=" + refs).run(ctx -> {
            assertThat(ctx).hasNotFailed();
            Embedder embedder = ctx.getBean(Embedder.class);
            assertThat(embedder).isInstanceOf(SpringAiEmbedder.class);
            assertThat(embedder.id()).isEqualTo("spring-ai:bigrams");
            assertThat(embedder.embed("Once upon a time", null)).containsExactly(embeddings.embed("Once upon a time"));
            assertThat(ctx.getBean(dev.moeadapter.serving.AdaptationRegistry.class).get("c3po")).isInstanceOf(C3poStrategy.class);
        });
        // a set built on the served model's hidden states is another embedding space: refused at startup
        String hidden = ReferenceSets.build(TestModels.olmoe(), ReferenceSets.PROMPTS).toString();
        runner.withBean(EmbeddingModel.class, () -> embeddings).withPropertyValues("moe.adapter.c3po.reference-set=" + hidden)
                .run(ctx -> assertThat(ctx).hasFailed());
        // without an EmbeddingModel the hidden-state embedder is used
        runner.withPropertyValues("moe.adapter.c3po.reference-set=" + hidden).run(ctx -> {
            assertThat(ctx).hasNotFailed();
            assertThat(ctx.getBean(Embedder.class)).isNotInstanceOf(SpringAiEmbedder.class);
        });
    }
}
