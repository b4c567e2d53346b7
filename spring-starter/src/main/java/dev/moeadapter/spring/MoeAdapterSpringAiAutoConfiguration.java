package dev.moeadapter.spring;

import dev.moeadapter.spring.ai.MoeAdapterChatModel;
import dev.moeadapter.serving.generation.GenerationService;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/** A Spring AI {@link ChatModel} over the generation service, when Spring AI is on the classpath. */
@AutoConfiguration(after = MoeAdapterAutoConfiguration.class)
@ConditionalOnClass(ChatModel.class)
@ConditionalOnBean(GenerationService.class)
public class MoeAdapterSpringAiAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(ChatModel.class)
    public MoeAdapterChatModel moeChatModel(GenerationService service) {
        return new MoeAdapterChatModel(service);
    }
}
