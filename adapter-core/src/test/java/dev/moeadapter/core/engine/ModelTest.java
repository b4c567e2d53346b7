package dev.moeadapter.core.engine;

import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ModelTest {
    @Test
    void olmoeInfoComesFromTheGraph() {
        ModelInfo i = TestModels.olmoe().info();
        assertThat(i.architecture()).isEqualTo("olmoe");
        assertThat(i.layers()).isEqualTo(3);
        assertThat(i.moeLayers()).containsExactly(0, 1, 2);
        assertThat(i.experts()).isEqualTo(16);
        assertThat(i.expertsUsed()).isEqualTo(4);
        assertThat(i.gating()).isEqualTo(Gating.SOFTMAX);
        assertThat(i.renormalized()).isFalse();
        assertThat(i.selectionBias()).isFalse();
        assertThat(i.vocabSize()).isEqualTo(RandomModels.VOCAB_SIZE);
        assertThat(i.trainContext()).isEqualTo(512);
        assertThat(i.embeddingSize()).isEqualTo(64);
    }

    @Test
    void mixtralStyleRenormalises() {
        ModelInfo i = TestModels.mixtral().info();
        assertThat(i.architecture()).isEqualTo("llama");
        assertThat(i.moeLayers()).containsExactly(0, 1, 2);
        assertThat(i.experts()).isEqualTo(8);
        assertThat(i.expertsUsed()).isEqualTo(2);
        assertThat(i.gating()).isEqualTo(Gating.SOFTMAX);
        assertThat(i.renormalized()).isTrue();
    }

    @Test
    void denseModelHasNoMoeLayers() {
        ModelInfo i = TestModels.dense().info();
        assertThat(i.isMoe()).isFalse();
        assertThat(i.gating()).isEqualTo(Gating.NONE);
        assertThat(i.experts()).isZero();
    }

    @Test
    void tokenizeAndDetokenizeRoundTrip() {
        Model m = TestModels.olmoe();
        int[] toks = m.tokenize("Hello world");
        assertThat(toks[0]).isEqualTo(RandomModels.BOS);
        assertThat(toks).hasSize(13);
        assertThat(m.detokenize(toks).strip()).isEqualTo("Hello world");
        // characters outside the vocabulary fall back to byte tokens and survive the round trip
        assertThat(m.detokenize(m.tokenize("naïve ✓", false, false)).strip()).isEqualTo("naïve ✓");
        assertThat(m.tokenize("", false, false)).isEmpty();
    }

    @Test
    void chatTemplateFormatsMessages() {
        String prompt = TestModels.olmoe().applyChatTemplate(
                List.of(ChatMessage.system("be brief"), ChatMessage.user("hi")), true);
        assertThat(prompt).isEqualTo("<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void metadataIsReadable() {
        assertThat(TestModels.olmoe().metadata("general.architecture")).contains("olmoe");
        assertThat(TestModels.olmoe().metadata("no.such.key")).isEmpty();
    }

    @Test
    void endOfGenerationTokenIsRecognised() {
        Model m = TestModels.olmoe();
        assertThat(m.isEndOfGeneration(RandomModels.EOS)).isTrue();
        assertThat(m.isEndOfGeneration(RandomModels.charToken('a'))).isFalse();
    }
}
