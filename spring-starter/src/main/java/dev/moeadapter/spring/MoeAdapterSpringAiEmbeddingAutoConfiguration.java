package dev.moeadapter.spring;

import dev.moeadapter.c3po.Embedder;
import dev.moeadapter.c3po.HiddenStateEmbedder;
import dev.moeadapter.spring.ai.SpringAiEmbedder;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * When the application has a Spring AI {@link EmbeddingModel} — its own bean or one made by Spring
 * AI's auto-configuration (e.g. the OpenAI embedding client) — C3PO searches neighbours with it
 * (named by {@code moe.adapter.c3po.embedding-model-name}, default the bean's class name); else with
 * the served model's hidden state. The model is looked up when the embedder is created, after every
 * auto-configuration has registered its beans, so the order of auto-configurations does not matter
 * (a {@code @ConditionalOnBean} here would only see those that ran before). Runs before the main
 * configuration so that its default embedder steps aside.
 */
@AutoConfiguration(before = MoeAdapterAutoConfiguration.class)
@ConditionalOnClass({EmbeddingModel.class, Embedder.class})
@ConditionalOnProperty(prefix = "moe.adapter.c3po", name = "reference-set")
@EnableConfigurationProperties(MoeAdapterProperties.class)
public class MoeAdapterSpringAiEmbeddingAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(Embedder.class)
    public Embedder c3poEmbedder(ObjectProvider<EmbeddingModel> models, MoeAdapterProperties props) {
        EmbeddingModel model = models.getIfUnique();
        if (model == null) {
            return new HiddenStateEmbedder();
        }
        String name = props.c3po().embeddingModelName();
        return new SpringAiEmbedder(model, name == null || name.isBlank() ? model.getClass().getSimpleName() : name);
    }
}
