package dev.moeadapter.core.engine;

import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The usage example of README.md, kept compiling and running. */
class ReadmeExampleTest {
    @Test
    void readmeExampleRuns() {
        Path file = TestModels.file(RandomModels.Spec.olmoe());
        StringBuilder streamed = new StringBuilder();
        try (Model model = Model.load(ModelParams.of(file));
             Session session = model.newSession(SessionParams.defaults().withSequences(2).withThreads(1))) {
            ModelInfo info = model.info();

            session.setPlan(1, new RoutingPlan(info.moeLayers().stream()
                    .map(l -> (RouterEdit) new RouterEdit.KeepRank(l, 2, PositionRange.ALL)).toList()));
            session.setTrace(1, TraceSpec.ROUTES);

            int[] prompt = model.tokenize("The capital of France is");
            Batch.Builder batch = Batch.builder();
            for (int i = 0; i < prompt.length; i++) {
                batch.add(prompt[i], i, 0, i == prompt.length - 1);
                batch.add(prompt[i], i, 1, i == prompt.length - 1);
            }
            session.decode(batch.build());
            float[] strong = session.logits(2 * prompt.length - 2);
            float[] weak = session.logits(2 * prompt.length - 1);
            RouterTrace trace = session.drainTrace();

            session.clearPlan(1);
            GenerationResult r = new Generator(session, 0).generate(
                    GenerationRequest.greedy(prompt, 64).withStop(List.of("\n")),
                    (token, text) -> streamed.append(text), new CancellationToken());

            assertThat(Arrays.equals(strong, weak)).isFalse();
            assertThat(trace.routes()).hasSize(prompt.length * info.moeLayers().size() - (prompt.length - 1));
            assertThat(trace.routes()).allSatisfy(t -> assertThat(t.sequence()).isEqualTo(1));
            assertThat(streamed.toString()).isEqualTo(r.text());
        }
    }
}
