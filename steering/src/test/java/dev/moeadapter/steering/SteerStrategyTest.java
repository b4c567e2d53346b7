package dev.moeadapter.steering;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.adaptation.UnsupportedModelException;
import dev.moeadapter.core.engine.LayerRouting;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SteerStrategyTest {
    private static final String PROMPT = "The quick brown fox jumps";

    private static SteerStrategy steer(Map<String, ?> settings, Path dir) {
        return new SteerStrategy(SteeringSettings.DEFAULTS, dir).withSettings(StrategySettings.of(settings));
    }

    /** Greedy answer under a strategy, with the answer sequence's routes traced. */
    private record Traced(GenerationResult result, RouterTrace trace) {
    }

    private static Traced run(Model m, AdaptationStrategy strategy) {
        try (Session s = m.newSession(new SessionParams(512, 64, 1, 1, 1))) {
            s.setTrace(0, TraceSpec.ROUTES);
            GenerationResult r = strategy.generate(s, GenerationRequest.greedy(m.tokenize(PROMPT), 16).withIgnoreEos(true),
                    (t, x) -> { }, CancellationToken.none());
            return new Traced(r, s.drainTrace());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "glm4moe", "qwen3next"})
    void aSteeringFileOfZerosAnswersBitForBitAsPlainGeneration(String name, @TempDir Path dir) throws Exception {
        Model m = TestModels.byName(name);
        int layer = m.info().routing().stream().filter(LayerRouting::hasRouter).findFirst().orElseThrow().layer();
        SteeringFile.write(dir.resolve("zero.tsv"), "nothing steered", List.of(
                new SteeringFile.Entry(layer, 0, SteeringFile.Action.PROMOTE, 0),
                new SteeringFile.Entry(layer, 1, SteeringFile.Action.MASK, 0)));
        SteerStrategy zero = steer(Map.of("file", "zero.tsv"), dir);
        assertThat(zero.settings().isIdentity()).isTrue();
        assertThat(zero.plan(m.info()).isEmpty()).isTrue();
        Traced plain = run(m, new PlainGeneration()), steered = run(m, zero);
        assertThat(steered.result().tokens()).containsExactly(plain.result().tokens());
        assertThat(steered.trace().routes()).hasSameSizeAs(plain.trace().routes());
        for (int i = 0; i < plain.trace().routes().size(); i++) {
            TokenRoute a = plain.trace().routes().get(i), b = steered.trace().routes().get(i);
            assertThat(b.experts()).containsExactly(a.experts());
            assertThat(b.weights()).containsExactly(a.weights());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral", "glm4moe", "llama4", "lfm2moe"})
    void aPromotedExpertLeadsEveryTokenOfPromptAndAnswerAndAMaskedOneNeverAnswers(String name) {
        Model m = TestModels.byName(name);
        List<Integer> routed = m.info().routing().stream().filter(LayerRouting::hasRouter).map(LayerRouting::layer).toList();
        int layer = routed.getFirst();
        Traced plain = run(m, new PlainGeneration());
        int popular = plain.trace().routes().stream().filter(r -> r.layer() == layer).findFirst().orElseThrow().experts()[0];
        int promoted = (popular + 1) % m.info().experts();
        Traced steered = run(m, steer(Map.of("promote", layer + ":" + promoted, "mask", layer + ":" + popular), null));
        List<TokenRoute> routes = steered.trace().routes().stream().filter(r -> r.layer() == layer).toList();
        assertThat(routes).hasSizeGreaterThan(m.tokenize(PROMPT).length);
        assertThat(routes).allSatisfy(r -> {
            assertThat(r.experts()[0]).isEqualTo(promoted);
            assertThat(r.weightOf(popular)).isLessThan(1e-6f);
        });
    }

    @Test
    void topPAnswersWithFewerExpertsThanTheModelSelects() {
        Model m = TestModels.olmoe();
        int k = m.info().expertsUsed();
        Traced plain = run(m, new PlainGeneration()), half = run(m, steer(Map.of("top-p", 0.5), null));
        assertThat(meanExpertsUsed(plain.trace())).isEqualTo(k);
        assertThat(meanExpertsUsed(half.trace())).isGreaterThanOrEqualTo(1).isLessThan(k);
    }

    /** Experts that answered per token and layer, averaged. */
    static double meanExpertsUsed(RouterTrace t) {
        return t.routes().stream().mapToInt(TokenRoute::answering).average().orElseThrow();
    }

    @Test
    void serviceLoaderFindsTheSteerPlugInWithItsSchema() {
        var provider = dev.moeadapter.core.adaptation.AdaptationProvider.named("steer").orElseThrow();
        assertThat(provider.schema().names()).containsExactly("file", "promote", "suppress", "boost", "mask", "epsilon", "boost-by", "top-p");
        assertThat(provider.schema().spec("epsilon").defaultValue()).isEqualTo(SteeringSettings.DEFAULTS.epsilon());
        assertThat(provider.requirements(StrategySettings.NONE).sequences()).isEqualTo(1);
    }

    @Test
    void badSettingsAreRefusedNamingTheSetting(@TempDir Path dir) throws Exception {
        Model m = TestModels.olmoe();
        assertThatThrownBy(() -> steer(Map.of("promote", "1-2"), dir)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("'promote'");
        assertThatThrownBy(() -> steer(Map.of("promote", "0:1", "suppress", "0:1"), dir)).hasMessageContaining("steered twice");
        assertThatThrownBy(() -> steer(Map.of("top-p", 0), dir)).hasMessageContaining("'top-p'");
        assertThatThrownBy(() -> steer(Map.of("epsilon", 1e9), dir)).hasMessageContaining("'epsilon'");
        assertThatThrownBy(() -> steer(Map.of("promote", "0:1" + " ".repeat(100_000) + "x"), dir)).hasMessageContaining("'promote'");
        assertThat(steer(Map.of("promote", " 0:1 , 0:2  1:3 ", "mask", ""), dir).settings().entries()).hasSize(3);
        assertThatThrownBy(() -> steer(Map.of("alpha", 1), dir)).hasMessageContaining("unknown steer setting 'alpha'");
        assertThatThrownBy(() -> steer(Map.of("file", "../etc/passwd"), dir)).hasMessageContaining("'file' must be NAME of a file in moe.adapter.steering-directory, got");
        assertThatThrownBy(() -> steer(Map.of("file", "absent.tsv"), dir)).hasMessageContaining("no steering file 'absent.tsv'");
        assertThatThrownBy(() -> steer(Map.of("file", "x.tsv"), null)).hasMessageContaining("no steering directory");
        Files.writeString(dir.resolve("bad.tsv"), "layer\texpert\taction\tstrength\n0\t1\tpush\t1\n");
        assertThatThrownBy(() -> steer(Map.of("file", "bad.tsv"), dir)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("bad.tsv:2");
        assertThatThrownBy(() -> steer(Map.of("promote", "0:99"), dir).validate(m.info())).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("expert 99 out of range");
        assertThatThrownBy(() -> steer(Map.of("promote", "99:0"), dir).validate(m.info())).hasMessageContaining("layer 99 is not a MoE layer");
        assertThatThrownBy(() -> steer(Map.of("promote", "1:0"), dir).validate(TestModels.byName("deepseek4").info()))
                .isInstanceOf(UnsupportedModelException.class).hasMessageContaining("hash-routed");
        assertThatThrownBy(() -> steer(Map.of(), dir).validate(TestModels.dense().info())).isInstanceOf(UnsupportedModelException.class);
    }
}
