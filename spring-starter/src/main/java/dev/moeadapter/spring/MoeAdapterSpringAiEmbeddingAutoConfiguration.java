package dev.moeadapter.spring;

import dev.moeadapter.c3po.Embedder;
import dev.moeadapter.spring.ai.SpringAiEmbedder;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * When the application provides a Spring AI {@link EmbeddingModel}, C3PO searches neighbours with
 * it (named by {@code moe.adapter.c3po.embedding-model-name}, default the bean's class name); runs
 * before the main configuration so that its default hidden-state embedder steps aside.
 */
@AutoConfiguration(before = MoeAdapterAutoConfiguration.class)
@ConditionalOnClass({EmbeddingModel.class, Embedder.class})
@EnableConfigurationProperties(MoeAdapterProperties.class)
public class MoeAdapterSpringAiEmbeddingAutoConfiguration {

    @Bean
    @ConditionalOnBean(EmbeddingModel.class)
    @ConditionalOnMissingBean(Embedder.class)
    public SpringAiEmbedder c3poEmbedder(EmbeddingModel model, MoeAdapterProperties props) {
        String name = props.c3po().embeddingModelName();
        return new SpringAiEmbedder(model, name == null || name.isBlank() ? model.getClass().getSimpleName() : name);
    }
}
