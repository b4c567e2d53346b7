package dev.moeadapter.core.generation;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GeneratorTest {
    private Model model;
    private Session session;
    private Generator generator;
    private int[] prompt;

    @BeforeEach
    void open() {
        model = TestModels.olmoe();
        session = model.newSession(new SessionParams(512, 16, 2, 1, 1));
        generator = new Generator(session, 0);
        prompt = model.tokenize("Once upon a time, in a land far away, there lived");
    }

    @AfterEach
    void close() {
        session.close();
    }

    @Test
    void greedyMatchesStepwiseArgmax() {
        GenerationResult r = generator.generate(GenerationRequest.greedy(prompt, 12).withIgnoreEos(true));
        assertThat(r.finishReason()).isEqualTo(FinishReason.MAX_TOKENS);
        assertThat(r.tokens()).hasSize(12);
        assertThat(r.promptTokens()).isEqualTo(prompt.length);

        // the same continuation by hand, one token at a time, in a fresh session
        try (Session s = model.newSession(new SessionParams(512, 64, 1, 1, 1))) {
            s.decode(Batch.of(0, 0, prompt));
            int last = prompt.length - 1;
            int pos = prompt.length;
            for (int i = 0; i < 12; i++) {
                int t = s.argmax(last);
                assertThat(r.tokens()[i]).as("token %d", i).isEqualTo(t);
                s.decode(Batch.of(0, pos++, t));
                last = 0;
            }
        }
        assertThat(r.text()).isEqualTo(model.detokenize(r.tokens()));
    }

    @Test
    void generationIsRepeatableAndFollowsTheRoutingPlan() {
        GenerationRequest req = GenerationRequest.greedy(prompt, 10).withIgnoreEos(true);
        GenerationResult a = generator.generate(req);
        assertThat(generator.generate(req).tokens()).isEqualTo(a.tokens());
        float[] force = new float[model.info().experts()];
        force[7] = 30f;
        session.setPlan(0, new RoutingPlan(model.info().moeLayers().stream()
                .map(l -> (RouterEdit) new RouterEdit.AddDelta(l, force, PositionRange.ALL)).toList()));
        assertThat(generator.generate(req).tokens()).isNotEqualTo(a.tokens());
    }

    @Test
    void seededSamplingIsReproducibleAndSeedsDiffer() {
        GenerationRequest req = GenerationRequest.greedy(prompt, 24).withIgnoreEos(true)
                .withSampling(new SamplingParams(1.5, 40, 0.95, 0.01, 7));
        GenerationResult a = generator.generate(req);
        GenerationResult b = generator.generate(req);
        assertThat(b.tokens()).isEqualTo(a.tokens());
        GenerationResult c = generator.generate(req.withSampling(req.sampling().withSeed(8)));
        assertThat(c.tokens()).isNotEqualTo(a.tokens());
        GenerationResult greedy = generator.generate(req.withSampling(SamplingParams.GREEDY));
        assertThat(a.tokens()).isNotEqualTo(greedy.tokens());
    }

    @Test
    void topKOfOneIsGreedy() {
        GenerationRequest req = GenerationRequest.greedy(prompt, 10).withIgnoreEos(true);
        GenerationResult greedy = generator.generate(req);
        GenerationResult k1 = generator.generate(req.withSampling(new SamplingParams(2.0, 1, 1, 0, 3)));
        assertThat(k1.tokens()).isEqualTo(greedy.tokens());
    }

    @Test
    void aTemperatureTooSmallForAFloatSamplesTheTopTokenNotNoise() {
        GenerationRequest req = GenerationRequest.greedy(prompt, 10).withIgnoreEos(true);
        GenerationResult greedy = generator.generate(req);
        for (double t : new double[] {1e-39, 1e-45, Double.MIN_VALUE}) {
            SamplingParams tiny = new SamplingParams(t, 0, 1, 0, 5);
            assertThat(tiny.temperature()).isEqualTo(SamplingParams.MIN_TEMPERATURE);
            assertThat(generator.generate(req.withSampling(tiny)).tokens()).as("temperature %s", t).isEqualTo(greedy.tokens());
        }
    }

    @Test
    void stopStringEndsTheTextBeforeIt() {
        GenerationResult full = generator.generate(GenerationRequest.greedy(prompt, 40).withIgnoreEos(true));
        String text = full.text();
        assertThat(text.length()).isGreaterThan(6);
        String stop = text.substring(4, 6);
        int expectedEnd = text.indexOf(stop);
        List<String> streamed = new ArrayList<>();
        GenerationResult r = generator.generate(GenerationRequest.greedy(prompt, 40).withIgnoreEos(true).withStop(List.of(stop)),
                (tok, delta) -> streamed.add(delta), CancellationToken.none());
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP_STRING);
        assertThat(r.text()).isEqualTo(text.substring(0, expectedEnd));
        assertThat(String.join("", streamed)).isEqualTo(r.text());
    }

    /** A held-back stop string's prefix sends several tokens with one piece of text; the listener is told each of them. */
    @Test
    void theListenerIsToldEveryTokenThatItsTextCompletes() {
        String text = generator.generate(GenerationRequest.greedy(prompt, 40).withIgnoreEos(true)).text();
        String stop = text.substring(2, 8) + "\u0000"; // its first six characters are held back, then sent together
        List<Integer> told = new ArrayList<>();
        List<Integer> pieces = new ArrayList<>();
        GenerationResult r = generator.generate(GenerationRequest.greedy(prompt, 40).withIgnoreEos(true).withStop(List.of(stop)),
                new TokenListener() {
                    @Override
                    public void onToken(int token, String delta) {
                        throw new AssertionError("the generator tells tokens with onTokens");
                    }

                    @Override
                    public void onTokens(int[] tokens, String delta) {
                        pieces.add(tokens.length);
                        for (int t : tokens) {
                            told.add(t);
                        }
                    }
                }, CancellationToken.none());
        assertThat(told).containsExactly(java.util.Arrays.stream(r.tokens()).boxed().toArray(Integer[]::new));
        assertThat(pieces).as("some piece of text completed more than one token").anyMatch(n -> n > 1);
    }

    @Test
    void streamedDeltasAddUpToTheText() {
        StringBuilder sb = new StringBuilder();
        GenerationResult r = generator.generate(GenerationRequest.greedy(prompt, 30).withIgnoreEos(true),
                (tok, delta) -> sb.append(delta), CancellationToken.none());
        assertThat(sb.toString()).isEqualTo(r.text());
    }

    @Test
    void cancellationStopsBetweenTokens() {
        CancellationToken cancel = new CancellationToken();
        List<Integer> seen = new ArrayList<>();
        GenerationResult r = generator.generate(GenerationRequest.greedy(prompt, 100).withIgnoreEos(true),
                (tok, delta) -> {
                    seen.add(tok);
                    if (seen.size() == 3) {
                        cancel.cancel();
                    }
                }, cancel);
        assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(r.tokens().length).isBetween(3, 4);
    }

    @Test
    void endOfGenerationTokenStopsUnlessIgnored() {
        // force the output towards EOS by sampling many times: at least the rule is exercised when EOS is chosen
        GenerationResult r = generator.generate(GenerationRequest.greedy(prompt, 200));
        assertThat(r.finishReason()).isIn(FinishReason.END_OF_GENERATION, FinishReason.MAX_TOKENS);
        for (int t : r.tokens()) {
            assertThat(model.isEndOfGeneration(t)).isFalse();
        }
    }

    @Test
    void contextRunsOut() {
        try (Session small = model.newSession(new SessionParams(256, 16, 1, 1, 1))) {
            GenerationResult r = new Generator(small, 0).generate(GenerationRequest.greedy(prompt, 1000).withIgnoreEos(true));
            assertThat(r.finishReason()).isEqualTo(FinishReason.CONTEXT_FULL);
            assertThat(prompt.length + r.tokens().length).isLessThanOrEqualTo(small.contextSize() + 1);
        }
    }

    @Test
    void badRequestsAreRejected() {
        assertThatThrownBy(() -> GenerationRequest.greedy(new int[0], 5)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> GenerationRequest.greedy(prompt, 0)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> GenerationRequest.greedy(prompt, -3)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> GenerationRequest.greedy(prompt, 5).withStop(List.of(""))).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> new SamplingParams(-1, 0, 1, 0, 0)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> new SamplingParams(Double.NaN, 0, 1, 0, 0)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> new SamplingParams(1, 0, 0, 0, 0)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> new SamplingParams(1, -1, 1, 0, 0)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> generator.generate(GenerationRequest.greedy(new int[] {1, 99999}, 5)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("outside the vocabulary");
        int[] huge = new int[session.contextSize()];
        java.util.Arrays.fill(huge, 10);
        assertThatThrownBy(() -> generator.generate(GenerationRequest.greedy(huge, 5)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("the context holds");
        assertThatThrownBy(() -> new Generator(session, 5)).isInstanceOf(InvalidRequestException.class);
    }
}
