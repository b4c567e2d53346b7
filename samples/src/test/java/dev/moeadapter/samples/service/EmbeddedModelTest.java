package dev.moeadapter.samples.service;

import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.samples.lab.LabItem;
import dev.moeadapter.samples.lab.LabSuiteV2;
import dev.moeadapter.samples.lab.LabSuiteV2.Part;
import dev.moeadapter.samples.lab.LabSuiteV2.Shift;
import dev.moeadapter.samples.lab.LabSuiteV2.Split;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The service's default: a lab v2 model shipped on the classpath, which solves most in-distribution lab items. */
class EmbeddedModelTest {

    @Test
    void theEmbeddedLabModelIsOnTheClasspathAndAnswersLabItems() {
        Path file = MoeAdapterService.embeddedModel();
        assertThat(file).exists();
        try (Model model = Model.load(ModelParams.of(file));
             Session session = model.newSession(SessionParams.defaults().withContextSize(128).withBatchSize(128).withThreads(1))) {
            assertThat(model.info().architecture()).isEqualTo("olmoe");
            assertThat(model.info().experts()).isEqualTo(32);
            List<LabItem> items = LabSuiteV2.split(new Split(Shift.NONE, Part.TEST)).subList(0, 40); // five of each task
            int right = 0;
            for (LabItem it : items) {
                session.clear();
                String answer = new Generator(session, 0).generate(new GenerationRequest(model.tokenize(it.prompt()), 12,
                        SamplingParams.GREEDY, List.of("\n"), false), TokenListener.NONE, new CancellationToken()).text();
                right += answer.equals(it.answer()) ? 1 : 0;
            }
            assertThat(right).as("answers right of 40 in-distribution test items (the model's card: about 85%%)").isGreaterThanOrEqualTo(28);
        }
    }
}
