package dev.moeadapter.rerouting;

import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.CountingResultCache;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.adaptation.UnsupportedModelException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.FinishReason;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.optim.SpsaGains;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Continuous rerouting on real llama.cpp with random-weight GGUFs (3 MoE layers). */
class ReroutingTest {
    private static final String PROMPT = "Once upon a time, in a land far away";
    /** Enough steps and layers that one round moves the loss well beyond numerical noise. */
    private static final ReroutingSettings STRONG = ReroutingSettings.DEFAULTS.withSteps(10).withLayers(new LayerSelection.Top(1.0));

    /** The answer, the context under the current δ and 2q = 8 perturbed copies. */
    private static Session open(Model m) {
        return m.newSession(new SessionParams(2048, 256, 10, 1, 1));
    }

    private static GenerationResult generate(DecodeLane s, ReroutingSettings settings, GenerationRequest req) {
        return new ReroutingStrategy(settings).generate(s, req, TokenListener.NONE, new CancellationToken());
    }

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void zeroStepsIsPlainGeneration(String name) {
        Model m = TestModels.byName(name);
        GenerationRequest req = GenerationRequest.greedy(m.tokenize(PROMPT), 24).withIgnoreEos(true);
        try (Session s = open(m)) {
            GenerationResult plain = new PlainGeneration().generate(s, req, TokenListener.NONE, new CancellationToken());
            GenerationResult zero = generate(s, ReroutingSettings.DEFAULTS.withSteps(0).withInterval(4), req);
            assertThat(zero.tokens()).isEqualTo(plain.tokens());
            assertThat(zero.text()).isEqualTo(plain.text());
            GenerationResult rerouted = generate(s, STRONG.withGains(SpsaGains.DEFAULTS.withStep(2f)).withSteps(4).withInterval(12), req);
            assertThat(rerouted.tokens()).as("real router deltas change the greedy path").isNotEqualTo(plain.tokens());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"full", "top-experts", "layer-scalar"})
    void aRoundLowersTheContextNll(String parameterisation) {
        Parameterisation p = switch (parameterisation) {
            case "full" -> new Parameterisation.Full();
            case "top-experts" -> new Parameterisation.TopExperts(4);
            default -> new Parameterisation.LayerScalar();
        };
        for (String name : List.of("olmoe", "mixtral")) {
            Model m = TestModels.byName(name);
            int[] prompt = m.tokenize(PROMPT);
            try (Session s = open(m)) {
                ReroutingDecoding scheme = new ReroutingDecoding(s, STRONG.withParameterisation(p), new CancellationToken());
                scheme.prefill(prompt, new CancellationToken());
                RoutingPlan tuned = scheme.plan();
                scheme.release();
                assertThat(scheme.rounds()).hasSize(1);
                RoundReport round = scheme.rounds().getFirst();
                assertThat(round.pointLosses()).hasSize(11);
                // measured independently of the optimiser: the context NLL at δ = 0 and at the final δ
                float[] loss = new ContextLoss(s).evaluate(prompt, 0, prompt.length - 1, List.of(RoutingPlan.EMPTY, tuned), 1, new CancellationToken());
                assertThat(loss[1]).as("%s %s: NLL %s -> %s", name, parameterisation, loss[0], loss[1]).isLessThan(loss[0] - 0.05f);
                // the round scores 11 plans per decode, this check 2: other chunks, other float sums (see contextLossMatchesJavaLogSoftmax)
                assertThat(round.startLoss()).isCloseTo(loss[0], org.assertj.core.api.Assertions.within(1e-3f));
                assertThat(round.endLoss()).isCloseTo(loss[1], org.assertj.core.api.Assertions.within(1e-3f));
            }
        }
    }

    /**
     * The guarantee that keeps rerouting from random-walking: no round, at prefill or during
     * generation, ends with a higher context loss than it started with, under the defaults and at
     * a step far too large for the landscape; measured independently for the prefill round (up to
     * the 1e-3 by which batches chunked differently sum the same NLL).
     */
    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void noRoundEndsAboveTheLossItStartedWith(String name) {
        Model m = TestModels.byName(name);
        String[] prompts = {PROMPT, "The weather today is cold and", "copy: abc = abc, xyz ="};
        int rounds = 0, lowered = 0;
        for (ReroutingSettings settings : List.of(ReroutingSettings.DEFAULTS.withInterval(3),
                ReroutingSettings.DEFAULTS.withInterval(3).withGains(SpsaGains.DEFAULTS.withStep(8f)))) {
            for (String text : prompts) {
                int[] prompt = m.tokenize(text);
                try (Session s = open(m)) {
                    ReroutingDecoding scheme = new ReroutingDecoding(s, settings, new CancellationToken());
                    scheme.prefill(prompt, new CancellationToken());
                    RoutingPlan tuned = scheme.plan();
                    float[] loss = new ContextLoss(s).evaluate(prompt, 0, prompt.length - 1, List.of(RoutingPlan.EMPTY, tuned), 1, new CancellationToken());
                    assertThat(loss[1]).as("%s '%s' %s: %s -> %s", name, text, settings.gains(), loss[0], loss[1]).isLessThanOrEqualTo(loss[0] + 1e-3f);
                    for (int i = 0; i < 9; i++) {
                        scheme.append(scheme.next(null), prompt.length + i, false);
                    }
                    scheme.release();
                    for (RoundReport r : scheme.rounds()) {
                        assertThat(r.endLoss()).isLessThanOrEqualTo(r.startLoss());
                        rounds++;
                        lowered += r.endLoss() < r.startLoss() ? 1 : 0;
                    }
                }
            }
        }
        assertThat(rounds).isEqualTo(2 * prompts.length * 4);
        assertThat(lowered).as("rounds that lowered the loss (it still moves)").isGreaterThan(rounds / 2);
    }

    /** The default's full δ_l reaches experts the context never selects, which a delta along its own routing cannot. */
    @Test
    void theDefaultMovesExpertsTheContextDoesNotUse() {
        Model m = TestModels.olmoe();
        int[] prompt = m.tokenize(PROMPT);
        try (Session s = open(m)) {
            ReroutingDecoding scheme = new ReroutingDecoding(s, ReroutingSettings.DEFAULTS, new CancellationToken());
            scheme.prefill(prompt, new CancellationToken());
            scheme.release();
            assertThat(scheme.plan().edits()).hasSize(m.info().moeLayers().size());
            for (RouterEdit e : scheme.plan().edits()) {
                long moved = 0;
                for (float v : ((RouterEdit.AddDelta) e).delta()) {
                    moved += v != 0 ? 1 : 0;
                }
                assertThat(moved).as("layer %d", e.layer()).isEqualTo(m.info().experts());
            }
        }
    }

    /** The shipped OLMoE-style lab model on a shifted lab prompt (misleading tag REV, the task is NXT). */
    @Test
    void aRoundLowersTheContextNllOfALabPrompt() {
        java.nio.file.Path lab = java.nio.file.Path.of("../samples/lab/models/lab-olmoe.gguf");
        try (Model m = Model.load(dev.moeadapter.core.engine.ModelParams.of(lab)); Session s = open(m)) {
            int[] prompt = m.tokenize("REV:abcd=bcde,hgfa=ahgb,cafe=");
            for (Parameterisation p : List.of(new Parameterisation.Full(), new Parameterisation.LayerScalar())) {
                ReroutingDecoding scheme = new ReroutingDecoding(s, STRONG.withParameterisation(p), new CancellationToken());
                scheme.prefill(prompt, new CancellationToken());
                RoutingPlan tuned = scheme.plan();
                scheme.release();
                float[] loss = new ContextLoss(s).evaluate(prompt, 0, prompt.length - 1, List.of(RoutingPlan.EMPTY, tuned), 1, new CancellationToken());
                assertThat(loss[1]).as("%s: NLL %s -> %s", p, loss[0], loss[1]).isLessThan(loss[0] - 0.05f);
            }
        }
    }

    @Test
    void contextLossMatchesJavaLogSoftmax() {
        Model m = TestModels.olmoe();
        int[] prompt = m.tokenize(PROMPT);
        RoutingPlan plan = new RoutingPlan(List.of(new RouterEdit.AddDelta(1, ramp(m.info().experts(), 0.3f), dev.moeadapter.core.routing.PositionRange.ALL)));
        try (Session s = open(m); Session ref = m.newSession(new SessionParams(512, 64, 1, 1, 1))) {
            // the chunked multi-sequence evaluation (batch 256 / 2 plans = 128 positions per decode, and 8 with batch 16)
            float[] batched = new ContextLoss(s).evaluate(prompt, 0, prompt.length - 1, List.of(RoutingPlan.EMPTY, plan), 1, new CancellationToken());
            try (Session small = m.newSession(new SessionParams(512, 16, 3, 1, 1))) {
                float[] chunked = new ContextLoss(small).evaluate(prompt, 0, prompt.length - 1, List.of(RoutingPlan.EMPTY, plan), 1, new CancellationToken());
                assertThat(chunked[0]).isCloseTo(batched[0], org.assertj.core.api.Assertions.within(1e-3f));
                assertThat(chunked[1]).isCloseTo(batched[1], org.assertj.core.api.Assertions.within(1e-3f));
            }
            for (int j = 0; j < 2; j++) {
                ref.clearSequence(0);
                ref.setPlan(0, j == 0 ? RoutingPlan.EMPTY : plan);
                ref.decode(Batch.allOutputs(0, 0, Arrays.copyOf(prompt, prompt.length - 1)));
                double sum = 0;
                for (int i = 0; i < prompt.length - 1; i++) {
                    float[] z = ref.logits(i);
                    double max = Double.NEGATIVE_INFINITY;
                    for (float v : z) {
                        max = Math.max(max, v);
                    }
                    double lse = 0;
                    for (float v : z) {
                        lse += Math.exp(v - max);
                    }
                    sum += max + Math.log(lse) - z[prompt[i + 1]];
                }
                assertThat((double) batched[j]).isCloseTo(sum / (prompt.length - 1), org.assertj.core.api.Assertions.within(1e-3));
            }
            assertThat(batched[1]).isNotEqualTo(batched[0]);
        }
    }

    @Test
    void copiesSharingAPrefixByKvCopyScoreLikeTheSequenceThatDecodedIt() {
        Model m = TestModels.olmoe();
        int[] prompt = m.tokenize(PROMPT);
        int from = 20, to = prompt.length - 1;
        RoutingPlan plan = new RoutingPlan(List.of(new RouterEdit.AddDelta(2, ramp(m.info().experts(), 0.4f), dev.moeadapter.core.routing.PositionRange.ALL)));
        CancellationToken none = new CancellationToken();
        try (Session s = open(m)) {
            ContextLoss loss = new ContextLoss(s);
            loss.evaluate(prompt, 0, from, List.of(RoutingPlan.EMPTY), 1, none);
            s.copySequence(1, 2, 0, from);
            s.copySequence(1, 3, 0, from);
            float[] shared = loss.evaluate(prompt, from, to, List.of(plan, plan, RoutingPlan.EMPTY), 1, none);
            assertThat(shared[1]).isCloseTo(shared[0], org.assertj.core.api.Assertions.within(1e-4f));
            assertThat(shared[2]).isNotCloseTo(shared[0], org.assertj.core.api.Assertions.within(1e-3f));
            // the same window scored after a whole decode without deltas equals the last plan's copy
            float[] whole = loss.evaluate(prompt, 0, to, List.of(RoutingPlan.EMPTY), 4, none);
            float[] head = loss.evaluate(prompt, 0, from, List.of(RoutingPlan.EMPTY), 4, none);
            double windowMean = (whole[0] * (double) to - head[0] * (double) from) / (to - from);
            assertThat((double) shared[2]).isCloseTo(windowMean, org.assertj.core.api.Assertions.within(1e-3));
        }
    }

    @Test
    void aWindowedRoundLowersTheLossOverItsWindow() {
        Model m = TestModels.olmoe();
        int[] prompt = m.tokenize(PROMPT);
        int window = 12, from = prompt.length - 1 - window;
        CancellationToken none = new CancellationToken();
        try (Session s = open(m)) {
            ReroutingDecoding scheme = new ReroutingDecoding(s, STRONG.withParameterisation(new Parameterisation.Full()).withWindow(window), none);
            scheme.prefill(prompt, none);
            RoutingPlan tuned = scheme.plan();
            scheme.release();
            // a prefix without deltas, then the window under δ = 0 and under the tuned δ
            ContextLoss loss = new ContextLoss(s);
            loss.evaluate(prompt, 0, from, List.of(RoutingPlan.EMPTY), 1, none);
            s.copySequence(1, 2, 0, from);
            float[] l = loss.evaluate(prompt, from, prompt.length - 1, List.of(RoutingPlan.EMPTY, tuned), 1, none);
            assertThat(l[1]).as("window NLL %s -> %s", l[0], l[1]).isLessThan(l[0] - 0.05f);
        }
        assertThat(run(m, STRONG.withWindow(prompt.length), prompt).plan).as("a window longer than the context is the whole context")
                .isEqualTo(run(m, STRONG, prompt).plan);
    }

    private static RunResult run(Model m, ReroutingSettings settings, int[] prompt) {
        try (Session s = open(m)) {
            return run(s, settings, GenerationRequest.greedy(prompt, 4).withIgnoreEos(true));
        }
    }

    /**
     * Also on hybrid memories (lfm2moe, qwen3next): over the whole context a round only empties and
     * re-decodes whole sequences, which a recurrent state allows.
     */
    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "lfm2moe", "qwen3next"})
    void afterRoundsTheAnswerMatchesAFreshPrefillUnderTheSameDelta(String name) {
        Model m = TestModels.byName(name);
        int[] prompt = m.tokenize(PROMPT);
        ReroutingSettings settings = STRONG.withInterval(4).withSteps(3);
        int[] context = Arrays.copyOf(prompt, prompt.length + 10);
        float[] continued;
        RoutingPlan finalPlan;
        try (Session s = open(m)) {
            ReroutingDecoding scheme = new ReroutingDecoding(s, settings, new CancellationToken());
            scheme.prefill(prompt, new CancellationToken());
            for (int i = 0; i < 10; i++) {
                int token = scheme.next(null);
                context[prompt.length + i] = token;
                scheme.append(token, prompt.length + i, false);
            }
            // rounds at prefill and after 4 and 8 generated tokens; tokens 9 and 10 decoded one by one under δ
            assertThat(scheme.rounds()).extracting(RoundReport::contextTokens)
                    .containsExactly(prompt.length, prompt.length + 4, prompt.length + 8);
            continued = s.logits(scheme.lastRow());
            finalPlan = scheme.plan();
            scheme.release();
            for (int seq = 1; seq < 10; seq++) {
                assertThat(s.maxPosition(seq)).as("perturbed copy %d emptied", seq).isEqualTo(-1);
            }
            assertThat(s.maxPosition(0)).isEqualTo(context.length - 1);
        }
        assertThat(finalPlan.edits()).isNotEmpty();
        float[] fresh, untuned;
        try (Session ref = m.newSession(new SessionParams(512, 64, 1, 1, 1))) {
            ref.setPlan(0, finalPlan);
            ref.decode(Batch.of(0, 0, context));
            fresh = ref.logits(context.length - 1);
            ref.clearSequence(0);
            ref.setPlan(0, RoutingPlan.EMPTY);
            ref.decode(Batch.of(0, 0, context));
            untuned = ref.logits(context.length - 1);
        }
        double tolerance = 1e-3 * maxAbs(fresh);
        assertThat(maxAbsDiff(continued, fresh)).isLessThan(tolerance);
        assertThat(maxAbsDiff(untuned, fresh)).as("the deltas matter, so the comparison means something").isGreaterThan(100 * tolerance);
    }

    @Test
    void aLossWindowIsRefusedWhereTheMemoryCannotShareAPrefix() {
        ReroutingStrategy windowed = new ReroutingStrategy(ReroutingSettings.DEFAULTS.withWindow(8));
        windowed.validate(TestModels.olmoe().info());
        new ReroutingStrategy(ReroutingSettings.DEFAULTS).validate(TestModels.byName("lfm2moe").info());
        assertThatThrownBy(() -> windowed.validate(TestModels.byName("lfm2moe").info()))
                .isInstanceOfSatisfying(UnsupportedModelException.class, e -> assertThat(e.setting()).isEqualTo("window"))
                .hasMessageStartingWith("rerouting with a loss window shares the context's older tokens")
                .hasMessageContaining("hybrid memory (lfm2moe)");
        Model qwen3next = TestModels.byName("qwen3next");
        try (Session s = qwen3next.newSession(new SessionParams(512, 64, 10, 1, 1))) {
            assertThatThrownBy(() -> generate(s, ReroutingSettings.DEFAULTS.withWindow(8), GenerationRequest.greedy(qwen3next.tokenize(PROMPT), 4)))
                    .as("refused before any decode, also without the service's startup check")
                    .isInstanceOf(UnsupportedModelException.class).hasMessageContaining("hybrid memory (qwen3next)");
        }
        assertThatThrownBy(() -> new ReroutingStrategy(ReroutingSettings.DEFAULTS).validate(TestModels.byName("deepseek4").info()))
                .isInstanceOf(UnsupportedModelException.class).hasMessageContaining("layer 0 is hash-routed");
    }

    @Test
    void aFixedSeedReproducesTheAnswerAndTheDeltas() {
        Model m = TestModels.mixtral();
        GenerationRequest req = GenerationRequest.greedy(m.tokenize(PROMPT), 12).withIgnoreEos(true);
        ReroutingSettings settings = STRONG.withInterval(5).withSteps(4).withParameterisation(new Parameterisation.Full());
        try (Session s = open(m)) {
            RunResult a = run(s, settings, req), b = run(s, settings, req), c = run(s, settings.withSeed(7), req);
            assertThat(a.tokens).isEqualTo(b.tokens);
            assertThat(a.plan).isEqualTo(b.plan);
            assertThat(c.plan).as("another seed probes other directions").isNotEqualTo(a.plan);
        }
    }

    @Test
    void aRepeatedPromptReusesThePrefillRoundAndContinuesExactlyAsTheFirstRequest() {
        Model m = TestModels.olmoe();
        int[] prompt = m.tokenize(PROMPT);
        GenerationRequest req = GenerationRequest.greedy(prompt, 10).withIgnoreEos(true);
        // rounds after 4 and 8 generated tokens continue from the optimiser state the prefill round left
        ReroutingSettings settings = STRONG.withInterval(4).withSteps(3);
        CountingResultCache cache = new CountingResultCache();
        try (Session s = open(m)) {
            ReroutingDecoding first = new ReroutingDecoding(s, settings, new CancellationToken(), cache);
            RunResult a = run(s, first, req);
            ReroutingDecoding second = new ReroutingDecoding(s, settings, new CancellationToken(), cache);
            RunResult b = run(s, second, req);
            assertThat(first.reusedPrefillRound()).isFalse();
            assertThat(first.rounds()).hasSize(3);
            assertThat(second.reusedPrefillRound()).isTrue();
            assertThat(second.rounds()).as("the prefill round did not run again").extracting(RoundReport::contextTokens)
                    .containsExactly(prompt.length + 4, prompt.length + 8);
            assertThat(cache.computed()).isEqualTo(1);
            assertThat(cache.hits()).isEqualTo(1);
            assertThat(b.tokens).isEqualTo(a.tokens);
            assertThat(b.plan).isEqualTo(a.plan);

            new ReroutingStrategy(settings, cache).generate(s, GenerationRequest.greedy(m.tokenize("The weather today is"), 4),
                    TokenListener.NONE, new CancellationToken());
            new ReroutingStrategy(settings.withSeed(7), cache).generate(s, req, TokenListener.NONE, new CancellationToken());
            assertThat(cache.computed()).as("another prompt and other settings are tuned afresh").isEqualTo(3);
            assertThat(cache.hits()).isEqualTo(1);
        }
    }

    private record RunResult(int[] tokens, RoutingPlan plan) {
    }

    private static RunResult run(Session s, ReroutingSettings settings, GenerationRequest req) {
        return run(s, new ReroutingDecoding(s, settings, new CancellationToken()), req);
    }

    private static RunResult run(Session s, ReroutingDecoding scheme, GenerationRequest req) {
        try {
            GenerationResult r = new dev.moeadapter.core.generation.Generator(s, scheme).generate(req);
            return new RunResult(r.tokens(), scheme.plan());
        } finally {
            scheme.release();
        }
    }

    @Test
    void cancellingDuringARoundStopsCleanlyAndTheSessionIsReusable() {
        Model m = TestModels.olmoe();
        GenerationRequest req = GenerationRequest.greedy(m.tokenize(PROMPT), 10).withIgnoreEos(true);
        try (Session s = open(m)) {
            CancellationToken cancel = new CancellationToken();
            AtomicInteger seen = new AtomicInteger();
            // interval 1: the append after the token that cancels starts a round, which stops at once
            GenerationResult r = new ReroutingStrategy(STRONG.withInterval(1).withSteps(2)).generate(s, req,
                    (t, d) -> {
                        if (seen.incrementAndGet() == 2) {
                            cancel.cancel();
                        }
                    }, cancel);
            assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(r.tokens().length).isBetween(2, 9);
            for (int seq = 1; seq < 10; seq++) {
                assertThat(s.maxPosition(seq)).isEqualTo(-1);
            }
            GenerationResult plain = new PlainGeneration().generate(s, req, TokenListener.NONE, new CancellationToken());
            assertThat(plain.tokens()).hasSize(10);
        }
    }

    @Test
    void outOfRangeSettingsAndUnfitSessionsAreRejected() {
        assertThatThrownBy(() -> ReroutingSettings.DEFAULTS.withSteps(-1))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("steps");
        assertThatThrownBy(() -> ReroutingSettings.DEFAULTS.withSteps(ReroutingSettings.MAX_STEPS + 1))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("0..100");
        assertThatThrownBy(() -> ReroutingSettings.DEFAULTS.withInterval(0))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("interval");
        assertThatThrownBy(() -> ReroutingSettings.DEFAULTS.withInterval(ReroutingSettings.MAX_INTERVAL + 1))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("interval");
        assertThatThrownBy(() -> ReroutingSettings.DEFAULTS.withWindow(-1))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("window");
        assertThatThrownBy(() -> ReroutingSettings.DEFAULTS.withOverrides(dev.moeadapter.core.adaptation.StrategySettings.of(java.util.Map.of("step", "11"))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'step' must be in (0, 10]");
        assertThatThrownBy(() -> ReroutingSettings.DEFAULTS.withOverrides(dev.moeadapter.core.adaptation.StrategySettings.of(java.util.Map.of("lr", "0.1"))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'lr'");
        assertThatThrownBy(() -> new LayerSelection.Top(0))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("(0, 1]");
        assertThatThrownBy(() -> new LayerSelection.Top(Double.NaN))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("(0, 1]");
        assertThatThrownBy(() -> new LayerSelection.Top(1.5))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("(0, 1]");
        assertThatThrownBy(() -> new Parameterisation.TopExperts(0))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining(">= 1");
        assertThatThrownBy(() -> SpsaGains.DEFAULTS.withPerturbation(-0.1f))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("perturbation");

        Model m = TestModels.olmoe();
        try (Session twoSequences = m.newSession(new SessionParams(512, 64, 2, 1, 1))) {
            assertThatThrownBy(() -> generate(twoSequences, ReroutingSettings.DEFAULTS, GenerationRequest.greedy(m.tokenize(PROMPT), 4)))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("needs 10 sequences");
        }
        Model dense = TestModels.dense();
        try (Session s = dense.newSession(new SessionParams(512, 64, 10, 1, 1))) {
            assertThatThrownBy(() -> generate(s, ReroutingSettings.DEFAULTS, GenerationRequest.greedy(dense.tokenize(PROMPT), 4)))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("Mixture-of-Experts");
        }
    }

    @Test
    void aContextTooLongForTheCopiesIsAnsweredUnderTheCurrentDeltas() {
        Model m = TestModels.olmoe();
        GenerationRequest req = GenerationRequest.greedy(m.tokenize(PROMPT), 8).withIgnoreEos(true);
        // 10 sequences x 38 tokens do not fit in 256 cells: no round runs, the answer is plain
        try (Session s = m.newSession(new SessionParams(256, 64, 10, 1, 1))) {
            GenerationResult plain = new PlainGeneration().generate(s, req, TokenListener.NONE, new CancellationToken());
            ReroutingDecoding scheme = new ReroutingDecoding(s, STRONG.withInterval(2), new CancellationToken());
            GenerationResult r = new dev.moeadapter.core.generation.Generator(s, scheme).generate(req);
            scheme.release();
            assertThat(scheme.rounds()).isEmpty();
            assertThat(r.tokens()).isEqualTo(plain.tokens());
        }
    }

    private static float[] ramp(int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = scale * (i - n / 2f);
        }
        return v;
    }

    private static double maxAbs(float[] v) {
        double m = 0;
        for (float x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
