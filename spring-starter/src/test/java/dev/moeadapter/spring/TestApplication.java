package dev.moeadapter.spring;

import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * An empty application: everything comes from the starter's auto-configuration. Spring AI's OpenAI
 * clients, on the test classpath for {@link SpringAiAutoConfiguredEmbeddingTest}, stay out.
 */
@SpringBootApplication(excludeName = {
        "org.springframework.ai.model.openai.autoconfigure.OpenAiChatAutoConfiguration",
        "org.springframework.ai.model.openai.autoconfigure.OpenAiEmbeddingAutoConfiguration",
        "org.springframework.ai.model.openai.autoconfigure.OpenAiImageAutoConfiguration",
        "org.springframework.ai.model.openai.autoconfigure.OpenAiAudioSpeechAutoConfiguration",
        "org.springframework.ai.model.openai.autoconfigure.OpenAiAudioTranscriptionAutoConfiguration",
        "org.springframework.ai.model.openai.autoconfigure.OpenAiModerationAutoConfiguration"})
public class TestApplication {
}
