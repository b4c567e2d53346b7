package dev.moeadapter.c3po;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.moeadapter.core.adaptation.CountingResultCache;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.adaptation.UnsupportedModelException;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class C3poStrategyTest {
    /** Prompts of one task (sums) and of another (words), so that neighbours can share the query's task. */
    static final List<String> SUMS = List.of("Q: 2 plus 3 is? A:", "Q: 4 plus 1 is? A:", "Q: 6 plus 2 is? A:",
            "Q: 7 plus 5 is? A:", "Q: 1 plus 8 is? A:");
    static final List<String> WORDS = List.of("The weather in Paris is", "Once upon a time there was", "My favourite colour is");
    static final String QUERY = "Q: 3 plus 4 is? A:";

    private static Model model;
    private static Path sumsAndWords;

    @BeforeAll
    static void buildReferenceSet() {
        model = TestModels.olmoe();
        sumsAndWords = Fixtures.build(model, Fixtures.answeredCorrectly(model, java.util.stream.Stream.concat(SUMS.stream(), WORDS.stream()).toList()));
    }

    @Test
    void c3poAndItsBuilderRefuseModelsItCannotRunOnWithTheReason() {
        record Case(String model, String reason) {
        }
        for (Case c : List.of(new Case("glm4moe", "layer 1 uses sigmoid gating with a selection bias"),
                new Case("gpt-oss", "layer 0 uses softmax after top-k gating"),
                new Case("qwen3next", "which this model's hybrid memory (qwen3next) cannot do"))) {
            Model m = TestModels.byName(c.model());
            try (Session s = Fixtures.session(m, 2)) {
                assertThatThrownBy(() -> new ReferenceSetBuilder(m, s, new HiddenStateEmbedder(), 4, 10)).as(c.model())
                        .isInstanceOf(UnsupportedModelException.class).hasMessageStartingWith("c3po ").hasMessageContaining(c.reason());
            }
        }
        // a strategy handed such a model refuses before any decode, whatever its reference set
        Model qwen3next = TestModels.byName("qwen3next");
        try (ReferenceSet refs = ReferenceSet.load(sumsAndWords, model); Session s = Fixtures.session(qwen3next, 4)) {
            C3poStrategy c3po = new C3poStrategy(refs, new HiddenStateEmbedder(), C3poSettings.DEFAULTS);
            assertThatThrownBy(() -> c3po.adapt(s, qwen3next.tokenize(QUERY), new CancellationToken()))
                    .isInstanceOf(UnsupportedModelException.class).hasMessageContaining("hybrid memory (qwen3next)");
            assertThat(s.maxPosition(0)).isEqualTo(-1);
        }
    }

    @Test
    void kernelRegressionWithOneNeighbourAndAlphaZeroInjectsThatNeighboursPathway() {
        C3poSettings settings = C3poSettings.DEFAULTS.withAlgorithm(new Algorithm.KernelRegression(List.of(0.0)))
                .withNeighbours(1).withCriticalLayers(2);
        int[] prompt = model.tokenize(QUERY);
        int last = prompt.length - 1;
        try (ReferenceSet refs = ReferenceSet.load(sumsAndWords, model); Session s = Fixtures.session(model, settings.sequencesNeeded())) {
            C3poStrategy c3po = new C3poStrategy(refs, new HiddenStateEmbedder(), settings);
            s.setTrace(0, TraceSpec.routesAndProbabilities(PositionRange.from(last)));
            s.drainTrace();
            Adaptation a = c3po.adapt(s, prompt, new CancellationToken());
            assertThat(a.adapted()).isTrue();
            assertThat(a.neighbours()).hasSize(1);
            assertThat(a.layers()).isEqualTo(model.info().moeLayers().subList(1, 3));
            GenerationResult r = new dev.moeadapter.core.generation.Generator(s, new PrefixedDecoding(s, 0))
                    .generate(GenerationRequest.greedy(prompt, 4).withIgnoreEos(true));
            RouterTrace trace = s.drainTrace();
            s.setTrace(0, TraceSpec.OFF);

            float[] neighbour = refs.pathway(a.neighbours().getFirst().index());
            float[] own = ownPathway(prompt);
            int experts = model.info().experts();
            for (int pos = last; pos < last + r.generatedTokens(); pos++) {
                for (int slot = 1; slot < 3; slot++) {
                    float[] traced = probabilities(trace, pos, model.info().moeLayers().get(slot));
                    assertThat(traced).as("position %d, MoE layer slot %d", pos, slot)
                            .containsExactly(Arrays.copyOfRange(neighbour, slot * experts, (slot + 1) * experts), within(1e-5f));
                }
            }
            // the first MoE layer is not critical: the last prompt token keeps its own routing there
            assertThat(probabilities(trace, last, model.info().moeLayers().getFirst()))
                    .containsExactly(Arrays.copyOf(own, experts), within(1e-5f));
            assertThat(Arrays.copyOfRange(own, experts, 3 * experts)).as("the neighbour's pathway differs from the prompt's own")
                    .isNotEqualTo(Arrays.copyOfRange(neighbour, experts, 3 * experts));
        }
    }

    @Test
    void ngdLowersTheNeighbourLossOnAPromptWhoseNeighboursShareItsTask() {
        C3poSettings settings = C3poSettings.DEFAULTS;
        try (ReferenceSet refs = ReferenceSet.load(sumsAndWords, model); Session s = Fixtures.session(model, settings.sequencesNeeded())) {
            Adaptation a = new C3poStrategy(refs, new HiddenStateEmbedder(), settings).adapt(s, model.tokenize(QUERY), new CancellationToken());
            assertThat(a.adapted()).isTrue();
            assertThat(a.neighbours()).hasSize(3).allSatisfy(n -> assertThat(SUMS).contains(promptOf(refs, n)));
            // ω0, 10 steps of the current point and 2q = 8 probes, the last proposal
            assertThat(a.evaluations()).isEqualTo(1 + 10 * 9 + 1);
            assertThat(a.loss()).as("neighbour loss after NGD").isLessThan(a.baseLoss());
        }
    }

    /** The released code's kernel regression keeps near-duplicates and re-mixes every expert, not only the core ones. */
    @Test
    void paperKernelRegressionKeepsNearDuplicatesAndChangesEveryExpert() {
        C3poSettings settings = C3poSettings.DEFAULTS.withAlgorithm(Algorithm.byLabel("kr-paper")).withCoreExperts(2);
        String seen = SUMS.getFirst();
        try (ReferenceSet refs = ReferenceSet.load(sumsAndWords, model); Session s = Fixtures.session(model, settings.sequencesNeeded())) {
            Adaptation a = new C3poStrategy(refs, new HiddenStateEmbedder(), settings).adapt(s, model.tokenize(seen), new CancellationToken());
            assertThat(a.adapted()).isTrue();
            assertThat(a.neighbours()).extracting(n -> promptOf(refs, n)).contains(seen);
            float[] own = ownPathway(model.tokenize(seen));
            int experts = model.info().experts(), changed = 0;
            for (int l = 0; l < a.pathway().length; l++) {
                double sum = 0;
                int slot = model.info().moeLayers().size() - a.pathway().length + l;
                for (int e = 0; e < experts; e++) {
                    sum += a.pathway()[l][e];
                    changed += Math.abs(a.pathway()[l][e] - own[slot * experts + e]) > 1e-6 ? 1 : 0;
                }
                assertThat(sum).isCloseTo(1.0, within(1e-5));
            }
            assertThat(changed).as("more experts change than the 2 core experts per layer").isGreaterThan(2 * a.pathway().length);
        }
    }

    /** The best point is kept: however large the steps, NGD never returns a pathway whose neighbour loss is above ω0's. */
    @Test
    void ngdNeverReturnsAPathwayWorseThanTheOwnPathway() {
        for (float step : new float[] {0.5f, 10f}) {
            Algorithm.GradientDescent ngd = Algorithm.GradientDescent.DEFAULTS.withGains(Algorithm.GradientDescent.DEFAULTS.gains().withStep(step));
            for (String query : List.of(QUERY, "The weather in Rome is", "Q: 9 plus 9 is? A:")) {
                C3poSettings settings = C3poSettings.DEFAULTS.withAlgorithm(ngd).withDuplicateSimilarity(1);
                try (ReferenceSet refs = ReferenceSet.load(sumsAndWords, model); Session s = Fixtures.session(model, settings.sequencesNeeded())) {
                    Adaptation a = new C3poStrategy(refs, new HiddenStateEmbedder(), settings).adapt(s, model.tokenize(query), new CancellationToken());
                    assertThat(a.adapted()).isTrue();
                    assertThat(a.loss()).as("step %s, '%s'", step, query).isLessThanOrEqualTo(a.baseLoss());
                }
            }
        }
    }

    /** Injected at the last prompt token only, ω leaves the routing of the generated tokens alone. */
    @Test
    void injectionAtTheLastPromptTokenOnlyLeavesTheAnswersTokensRoutedAsTheModelDoes() {
        C3poSettings settings = C3poSettings.DEFAULTS.withAlgorithm(new Algorithm.KernelRegression(List.of(0.0)))
                .withNeighbours(1).withCriticalLayers(2).withInjection(Injection.LAST_PROMPT_TOKEN);
        int[] prompt = model.tokenize(QUERY);
        int last = prompt.length - 1;
        try (ReferenceSet refs = ReferenceSet.load(sumsAndWords, model); Session s = Fixtures.session(model, settings.sequencesNeeded())) {
            Adaptation a = new C3poStrategy(refs, new HiddenStateEmbedder(), settings).adapt(s, prompt, new CancellationToken());
            s.setTrace(0, TraceSpec.routesAndProbabilities(PositionRange.from(last)));
            s.drainTrace();
            GenerationResult r = new dev.moeadapter.core.generation.Generator(s, new PrefixedDecoding(s, 0))
                    .generate(GenerationRequest.greedy(prompt, 3).withIgnoreEos(true));
            RouterTrace trace = s.drainTrace();
            s.setTrace(0, TraceSpec.OFF);
            int experts = model.info().experts(), layer = model.info().moeLayers().get(2);
            float[] injected = a.pathway()[1];
            assertThat(probabilities(trace, last, layer)).containsExactly(injected, within(1e-5f));
            float[] next = probabilities(trace, last + 1, layer);
            double diff = 0;
            for (int e = 0; e < experts; e++) {
                diff += Math.abs(next[e] - injected[e]);
            }
            assertThat(r.generatedTokens()).isEqualTo(3);
            assertThat(diff).as("the first generated token is routed by the model itself").isGreaterThan(1e-3);
        }
    }

    @Test
    void kernelRegressionPicksTheAlphaWithTheLowestNeighbourLoss() {
        C3poSettings settings = C3poSettings.DEFAULTS.withAlgorithm(Algorithm.KernelRegression.DEFAULTS);
        try (ReferenceSet refs = ReferenceSet.load(sumsAndWords, model); Session s = Fixtures.session(model, settings.sequencesNeeded())) {
            Adaptation a = new C3poStrategy(refs, new HiddenStateEmbedder(), settings).adapt(s, model.tokenize(QUERY), new CancellationToken());
            assertThat(a.evaluations()).isEqualTo(5);
            assertThat(a.loss()).isLessThanOrEqualTo(a.baseLoss()); // α = 1 (ω0) is a candidate
        }
    }

    @Test
    void modeFindingWithAlphaZeroMovesToTheNearestReferencePathway() {
        C3poSettings settings = C3poSettings.DEFAULTS.withAlgorithm(new Algorithm.ModeFinding(0.0, 1, 0.2)).withNeighbours(1);
        int[] prompt = model.tokenize(QUERY);
        try (ReferenceSet refs = ReferenceSet.load(sumsAndWords, model); Session s = Fixtures.session(model, settings.sequencesNeeded())) {
            Adaptation a = new C3poStrategy(refs, new HiddenStateEmbedder(), settings).adapt(s, prompt, new CancellationToken());
            assertThat(a.neighbours()).hasSize(1);
            float[] nearest = refs.pathway(a.neighbours().getFirst().index());
            int experts = model.info().experts();
            for (int l = 0; l < 3; l++) {
                assertThat(a.pathway()[l]).containsExactly(Arrays.copyOfRange(nearest, l * experts, (l + 1) * experts), within(1e-5f));
            }
            // no other reference pathway is nearer to the prompt's own
            float[] own = ownPathway(prompt);
            double best = distance(own, nearest);
            for (int i = 0; i < refs.size(); i++) {
                assertThat(distance(own, refs.pathway(i))).isGreaterThanOrEqualTo(best);
            }
        }
    }

    @Test
    void theStrategyAnswersWithTheInjectedPathwayAndCleansUp() {
        C3poSettings settings = C3poSettings.DEFAULTS.withAlgorithm(new Algorithm.KernelRegression(List.of(0.0)));
        GenerationRequest request = GenerationRequest.greedy(model.tokenize(QUERY), 8).withIgnoreEos(true);
        try (ReferenceSet refs = ReferenceSet.load(sumsAndWords, model); Session s = Fixtures.session(model, settings.sequencesNeeded())) {
            C3poStrategy c3po = new C3poStrategy(refs, new HiddenStateEmbedder(), settings);
            GenerationResult adapted = c3po.generate(s, request, TokenListener.NONE, new CancellationToken());
            GenerationResult plain = new PlainGeneration().generate(s, request, TokenListener.NONE, new CancellationToken());
            assertThat(adapted.generatedTokens()).isEqualTo(8);
            assertThat(adapted.tokens()).as("re-mixed experts change the answer of a random model").isNotEqualTo(plain.tokens());
            assertThat(c3po.generate(s, request, TokenListener.NONE, new CancellationToken()).tokens()).isEqualTo(adapted.tokens());
            for (int seq = 1; seq < s.sequences(); seq++) {
                assertThat(s.maxPosition(seq)).as("sequence %d is empty again", seq).isEqualTo(-1);
            }
        }
    }

    @Test
    void aRepeatedPromptReusesItsPathwayAndAnswersTheSame() {
        C3poSettings settings = C3poSettings.DEFAULTS.withAlgorithm(Algorithm.KernelRegression.DEFAULTS);
        CountingResultCache cache = new CountingResultCache();
        int[] prompt = model.tokenize(QUERY);
        GenerationRequest request = GenerationRequest.greedy(prompt, 8).withIgnoreEos(true);
        try (ReferenceSet refs = ReferenceSet.load(sumsAndWords, model); Session s = Fixtures.session(model, settings.sequencesNeeded())) {
            C3poStrategy c3po = new C3poStrategy(refs, new HiddenStateEmbedder(), settings, cache);
            Adaptation searched = c3po.adapt(s, prompt, new CancellationToken());
            GenerationResult first = c3po.generate(s, request, TokenListener.NONE, new CancellationToken());
            GenerationResult second = c3po.generate(s, request, TokenListener.NONE, new CancellationToken());
            assertThat(cache.computed()).as("the neighbour search and the optimisation ran once").isEqualTo(1);
            assertThat(cache.hits()).isEqualTo(2);
            assertThat(searched.adapted()).isTrue();
            assertThat(second.tokens()).isEqualTo(first.tokens());
            Adaptation reused = c3po.adapt(s, prompt, new CancellationToken());
            assertThat(reused.pathway()).isDeepEqualTo(searched.pathway());
            assertThat(reused.neighbours()).isEqualTo(searched.neighbours());

            c3po.generate(s, GenerationRequest.greedy(model.tokenize("Q: 5 plus 5 is? A:"), 8), TokenListener.NONE, new CancellationToken());
            new C3poStrategy(refs, new HiddenStateEmbedder(), settings.withNeighbours(2), cache)
                    .generate(s, request, TokenListener.NONE, new CancellationToken());
            assertThat(cache.computed()).as("another prompt and other settings are searched afresh").isEqualTo(3);
            assertThat(cache.hits()).isEqualTo(3);
        }
    }

    @Test
    void emptyAndTinyReferenceSetsKeepTheBaseModelWithALoggedReason() {
        Path empty = Fixtures.build(model, List.of(Fixtures.example("wrong", SUMS.getFirst(), "certainly not this")));
        Path tiny = Fixtures.build(model, Fixtures.answeredCorrectly(model, SUMS.subList(0, 2)));
        GenerationRequest request = GenerationRequest.greedy(model.tokenize(QUERY), 8).withIgnoreEos(true);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        Logger logger = (Logger) LoggerFactory.getLogger(C3poStrategy.class);
        logger.addAppender(logs);
        try (ReferenceSet e = ReferenceSet.load(empty, model); ReferenceSet t = ReferenceSet.load(tiny, model);
             Session s = Fixtures.session(model, C3poSettings.DEFAULTS.sequencesNeeded())) {
            assertThat(e.size()).isZero();
            assertThat(t.size()).isEqualTo(2);
            GenerationResult plain = new PlainGeneration().generate(s, request, TokenListener.NONE, new CancellationToken());
            for (ReferenceSet refs : List.of(e, t)) {
                C3poStrategy c3po = new C3poStrategy(refs, new HiddenStateEmbedder(), C3poSettings.DEFAULTS);
                assertThat(c3po.generate(s, request, TokenListener.NONE, new CancellationToken()).tokens()).isEqualTo(plain.tokens());
                Adaptation a = c3po.adapt(s, request.prompt(), new CancellationToken());
                assertThat(a.adapted()).isFalse();
                assertThat(a.degraded()).contains("has " + refs.size() + " items, fewer than the 3 required");
            }
            assertThat(logs.list).filteredOn(ev -> ev.getLevel() == ch.qos.logback.classic.Level.WARN)
                    .extracting(ILoggingEvent::getFormattedMessage)
                    .anySatisfy(m -> assertThat(m).contains("has 0 items").contains("keep the base model's routing"))
                    .anySatisfy(m -> assertThat(m).contains("has 2 items"));
        } finally {
            logger.detachAppender(logs);
        }
    }

    @Test
    void aPromptWhoseOnlyReferencesAreNearDuplicatesKeepsTheBaseModel() {
        C3poSettings settings = C3poSettings.DEFAULTS.withMinReferences(1).withDuplicateSimilarity(-0.99);
        try (ReferenceSet refs = ReferenceSet.load(sumsAndWords, model); Session s = Fixtures.session(model, settings.sequencesNeeded())) {
            Adaptation a = new C3poStrategy(refs, new HiddenStateEmbedder(), settings).adapt(s, model.tokenize(QUERY), new CancellationToken());
            assertThat(a.adapted()).isFalse();
            assertThat(a.degraded()).contains("near-duplicates");
        }
    }

    @Test
    void aReferenceSetBuiltForAnotherModelOrEmbedderIsRefused() {
        Model other = TestModels.mixtral();
        assertThatThrownBy(() -> ReferenceSet.load(sumsAndWords, other))
                .isInstanceOf(ReferenceSetMismatchException.class).hasMessageContaining("built for another model");
        try (ReferenceSet refs = ReferenceSet.load(sumsAndWords, model)) {
            Embedder sentences = new Embedder() {
                @Override
                public String id() {
                    return "all-MiniLM-L6-v2";
                }

                @Override
                public boolean usesHiddenState() {
                    return false;
                }

                @Override
                public float[] embed(String prompt, float[] meanHiddenState) {
                    return new float[384];
                }
            };
            assertThatThrownBy(() -> new C3poStrategy(refs, sentences, C3poSettings.DEFAULTS))
                    .isInstanceOf(ReferenceSetMismatchException.class).hasMessageContaining("all-MiniLM-L6-v2");
            try (Session s = Fixtures.session(other, 16)) {
                assertThatThrownBy(() -> new C3poStrategy(refs, new HiddenStateEmbedder(), C3poSettings.DEFAULTS)
                        .adapt(s, other.tokenize(QUERY), new CancellationToken()))
                        .isInstanceOf(ReferenceSetMismatchException.class);
            }
        }
    }

    @Test
    void theBuilderKeepsOnlyCorrectlyAnsweredPrompts() {
        List<ReferenceSetBuilder.Example> examples = List.of(
                Fixtures.example("right", SUMS.get(0), Fixtures.answerOf(model, SUMS.get(0))),
                Fixtures.example("wrong", SUMS.get(1), Fixtures.answerOf(model, SUMS.get(1)) + "x"),
                Fixtures.example("also-right", WORDS.get(0), Fixtures.answerOf(model, WORDS.get(0))));
        Path file = Fixtures.build(model, examples);
        try (ReferenceSet refs = ReferenceSet.load(file, model)) {
            assertThat(refs.size()).isEqualTo(2);
            assertThat(refs.id(0)).isEqualTo("right");
            assertThat(refs.id(1)).isEqualTo("also-right");
            assertThat(refs.prompt(0)).isEqualTo(model.tokenize(SUMS.get(0)));
            assertThat(refs.pathway(0)).containsExactly(ownPathway(model.tokenize(SUMS.get(0))), within(1e-5f));
            assertThat(model.detokenize(refs.answer(1))).isEqualTo(Fixtures.answerOf(model, WORDS.get(0)));
            assertThat(refs.header().embedderId()).isEqualTo(HiddenStateEmbedder.ID);
        }
    }

    /** The model's own pathway at the last prompt token, from a plain pass. */
    private static float[] ownPathway(int[] prompt) {
        try (Session s = Fixtures.session(model, 1)) {
            return PromptProbe.run(s, 0, prompt, false, new CancellationToken()).pathway();
        }
    }

    private static float[] probabilities(RouterTrace trace, int position, int layer) {
        return trace.probabilities(0, position, layer).map(TokenProbabilities::probabilities)
                .orElseThrow(() -> new AssertionError("no probabilities traced at position " + position + ", layer " + layer));
    }

    private static String promptOf(ReferenceSet refs, Neighbour n) {
        return model.detokenize(refs.prompt(n.index())).strip();
    }

    private static double distance(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d += (a[i] - b[i]) * (a[i] - b[i]);
        }
        return d;
    }
}
