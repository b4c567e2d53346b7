package dev.moeadapter.scmoe;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.adaptation.UnsupportedModelException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Sampler;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.FinishReason;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ScmoeTest {
    private static final String PROMPT = "Once upon a time, in a land far away";

    private static Session open(Model m) {
        return m.newSession(new SessionParams(512, 32, 2, 1, 1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void betaZeroReproducesPlainGreedy(String name) {
        Model m = TestModels.byName(name);
        GenerationRequest req = GenerationRequest.greedy(m.tokenize(PROMPT), 24).withIgnoreEos(true);
        try (Session s = open(m)) {
            GenerationResult plain = new Generator(s, 0).generate(req);
            GenerationResult contrast = new ScmoeStrategy(ScmoeSettings.DEFAULTS.withBeta(0f)).generate(s, req, (t, d) -> { }, new CancellationToken());
            assertThat(contrast.tokens()).isEqualTo(plain.tokens());
            GenerationResult scmoe = new ScmoeStrategy(ScmoeSettings.DEFAULTS.withBeta(0.9f)).generate(s, req, (t, d) -> { }, new CancellationToken());
            assertThat(scmoe.tokens()).as("a real contrast changes the greedy path").isNotEqualTo(plain.tokens());
        }
    }

    /** Also on hybrid memories (lfm2moe, qwen3next): SCMoE only ever empties whole sequences, so it needs no rollback. */
    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral", "lfm2moe", "qwen3next"})
    void batchedRunEqualsTwoSeparateSessionsWithTheContrastInJava(String name) {
        Model m = TestModels.byName(name);
        ScmoeSettings settings = ScmoeSettings.DEFAULTS;
        int[] prompt = m.tokenize(PROMPT);
        int steps = 20;
        int[] reference = new int[steps];
        try (Session strong = m.newSession(new SessionParams(512, 64, 1, 1, 1));
             Session weak = m.newSession(new SessionParams(512, 64, 1, 1, 1))) {
            weak.setPlan(0, settings.weak().plan(m.info()));
            strong.decode(Batch.of(0, 0, prompt));
            weak.decode(Batch.of(0, 0, prompt));
            int last = prompt.length - 1;
            for (int i = 0; i < steps; i++) {
                reference[i] = javaContrastArgmax(strong.logits(last), weak.logits(last), settings.alpha(), settings.beta());
                strong.decode(Batch.of(0, prompt.length + i, reference[i]));
                weak.decode(Batch.of(0, prompt.length + i, reference[i]));
                last = 0;
            }
        }
        // a batch of 32 holds both views of the prompt; one of 8 takes them view after view, then the last token of both
        for (int batch : new int[] {32, 8}) {
            try (Session s = m.newSession(new SessionParams(512, batch, 2, 1, 1))) {
                GenerationResult batched = new ScmoeStrategy(settings).generate(s, GenerationRequest.greedy(prompt, steps).withIgnoreEos(true),
                        (t, d) -> { }, new CancellationToken());
                assertThat(batched.tokens()).as("batch %d", batch).isEqualTo(reference);
            }
        }
    }

    private static int javaContrastArgmax(float[] zs, float[] zw, float alpha, float beta) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : zs) {
            max = Math.max(max, v);
        }
        double cut = max + Math.log(alpha);
        int best = -1;
        float bestZ = Float.NEGATIVE_INFINITY;
        for (int v = 0; v < zs.length; v++) {
            if (zs[v] < cut) {
                continue;
            }
            float z = (1f + beta) * zs[v] - beta * zw[v];
            if (best < 0 || z > bestZ) {
                best = v;
                bestZ = z;
            }
        }
        return best;
    }

    @Test
    void theMaskNeverLetsAnImplausibleTokenThrough() {
        Model m = TestModels.olmoe();
        ScmoeSettings settings = new ScmoeSettings(new WeakRouting.RankK(3), 0.1f, 0.9f);
        try (Session s = open(m); Sampler hot = Sampler.create(m, new SamplingParams(5.0, 0, 1, 0, 11))) {
            ContrastiveDecoding scheme = new ContrastiveDecoding(s, settings, 0, 1);
            int[] prompt = m.tokenize(PROMPT);
            scheme.prefill(prompt, new CancellationToken());
            int pos = prompt.length;
            int checked = 0;
            for (int step = 0; step < 60; step++) {
                float[] zs = s.logits(scheme.strongIndex());
                float[] scores = s.contrastScores(scheme.strongIndex(), scheme.weakIndex(), settings.alpha(), settings.beta());
                int token = scheme.next(step % 2 == 0 ? hot : null);
                double maxP = 0, sum = 0;
                for (float z : zs) {
                    maxP = Math.max(maxP, Math.exp(z));
                    sum += Math.exp(z);
                }
                double pToken = Math.exp(zs[token]) / sum;
                assertThat(pToken).as("step %d", step).isGreaterThanOrEqualTo(settings.alpha() * maxP / sum * (1 - 1e-6));
                for (int v = 0; v < zs.length; v++) {
                    boolean plausible = Math.exp(zs[v]) >= settings.alpha() * maxP * (1 + 1e-6);
                    boolean implausible = Math.exp(zs[v]) < settings.alpha() * maxP * (1 - 1e-6);
                    if (implausible) {
                        assertThat(scores[v]).isEqualTo(Float.NEGATIVE_INFINITY);
                    } else if (plausible) {
                        assertThat(scores[v]).isFinite();
                    }
                }
                checked++;
                scheme.append(token, pos++, false);
            }
            assertThat(checked).isEqualTo(60);
        }
    }

    @Test
    void samplingIsSeededAndStopRulesApply() {
        Model m = TestModels.olmoe();
        GenerationRequest req = GenerationRequest.greedy(m.tokenize(PROMPT), 30).withIgnoreEos(true)
                .withSampling(new SamplingParams(1.0, 40, 0.95, 0, 5));
        ScmoeStrategy scmoe = new ScmoeStrategy(ScmoeSettings.DEFAULTS);
        try (Session s = open(m)) {
            GenerationResult a = scmoe.generate(s, req, (t, d) -> { }, new CancellationToken());
            GenerationResult b = scmoe.generate(s, req, (t, d) -> { }, new CancellationToken());
            assertThat(b.tokens()).isEqualTo(a.tokens());
            assertThat(a.finishReason()).isEqualTo(FinishReason.MAX_TOKENS);

            String stop = a.text().substring(3, 5);
            StringBuilder streamed = new StringBuilder();
            GenerationResult stopped = scmoe.generate(s, req.withStop(List.of(stop)), (t, d) -> streamed.append(d), new CancellationToken());
            assertThat(stopped.finishReason()).isEqualTo(FinishReason.STOP_STRING);
            assertThat(stopped.text()).isEqualTo(a.text().substring(0, a.text().indexOf(stop)));
            assertThat(streamed.toString()).isEqualTo(stopped.text());

            CancellationToken cancel = new CancellationToken();
            GenerationResult cancelled = scmoe.generate(s, req, (t, d) -> cancel.cancel(), cancel);
            assertThat(cancelled.finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(cancelled.tokens().length).isLessThanOrEqualTo(2);
        }
    }

    @Test
    void badSettingsAreRejectedWithTheReason() {
        Model olmoe = TestModels.olmoe();
        assertThatThrownBy(() -> ScmoeSettings.DEFAULTS.withBeta(-0.1f))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("beta");
        assertThatThrownBy(() -> ScmoeSettings.DEFAULTS.withBeta(Float.NaN)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> ScmoeSettings.DEFAULTS.withAlpha(0f))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("alpha");
        assertThatThrownBy(() -> ScmoeSettings.DEFAULTS.withAlpha(1.5f)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> new WeakRouting.RankK(17).validate(olmoe.info()))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("1..16");
        assertThatThrownBy(() -> new WeakRouting.RankK(0).validate(olmoe.info())).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> new WeakRouting.TopM(4).validate(olmoe.info()))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("1..3");
        assertThatThrownBy(() -> new WeakRouting.RankK(2).validate(TestModels.dense().info()))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("no MoE layers");
        try (Session one = olmoe.newSession(new SessionParams(128, 16, 1, 1, 1))) {
            assertThatThrownBy(() -> new ContrastiveDecoding(one, ScmoeSettings.DEFAULTS, 0, 1))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("two distinct sequences");
        }
    }

    @Test
    void theModelsItCannotRunOnAreRefusedWithTheReason() {
        ScmoeStrategy scmoe = new ScmoeStrategy(ScmoeSettings.DEFAULTS);
        assertThatThrownBy(() -> scmoe.validate(TestModels.byName("deepseek4").info())).isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("scmoe edits the router of every MoE layer").hasMessageContaining("layer 0 is hash-routed");
        assertThatThrownBy(() -> scmoe.validate(TestModels.dense().info())).isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("no MoE layers");
        for (String runs : List.of("olmoe", "gpt-oss", "llama4", "glm4moe", "lfm2moe", "qwen3next")) {
            scmoe.validate(TestModels.byName(runs).info());
        }
        // expert groups leave 8 of glm4moe's 16 experts to rank
        assertThatThrownBy(() -> new ScmoeStrategy(ScmoeSettings.DEFAULTS.withWeak(new WeakRouting.RankK(9))).validate(
                TestModels.byName("glm4moe").info())).isInstanceOf(InvalidRequestException.class).hasMessageContaining("k must be in 1..8");
        // the message names the value as either form writes it, not only as a rank
        assertThatThrownBy(() -> WeakRouting.parse("routed-tok:32").validate(TestModels.byName("glm4moe").info()))
                .hasMessageContaining("got rank:33, which is routed-tok:32");
    }

    @Test
    void topMWeakViewRuns() {
        Model m = TestModels.olmoe();
        try (Session s = open(m)) {
            GenerationResult r = new ScmoeStrategy(ScmoeSettings.DEFAULTS.withWeak(new WeakRouting.TopM(1)))
                    .generate(s, GenerationRequest.greedy(m.tokenize(PROMPT), 10).withIgnoreEos(true), (t, d) -> { }, new CancellationToken());
            assertThat(r.tokens()).hasSize(10);
        }
    }

    @Test
    void settingsFromConfigurationOrJsonApplyOnTopOfTheStrategysOwn() {
        ScmoeStrategy base = new ScmoeStrategy(ScmoeSettings.DEFAULTS.withBeta(0.7f));
        assertThat(base.withSettings(StrategySettings.NONE)).isSameAs(base);
        ScmoeSettings s = base.withSettings(StrategySettings.of(Map.of("alpha", "0.2", "weak", "top:1"))).settings();
        assertThat(s.alpha()).isEqualTo(0.2f);
        assertThat(s.beta()).isEqualTo(0.7f);
        assertThat(s.weak()).isEqualTo(new WeakRouting.TopM(1));
        assertThat(base.withSettings(StrategySettings.of(Map.of("beta", 0.25))).settings().beta()).isEqualTo(0.25f);
        assertThatThrownBy(() -> base.withSettings(StrategySettings.of(Map.of("gamma", 1))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("unknown scmoe setting 'gamma'");
        assertThatThrownBy(() -> base.withSettings(StrategySettings.of(Map.of("beta", "lots"))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'beta' must be a finite number");
        assertThatThrownBy(() -> base.withSettings(StrategySettings.of(Map.of("beta", -1))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'beta' must be in [0, 1000]");
        assertThatThrownBy(() -> base.withSettings(StrategySettings.of(Map.of("weak", "rank2"))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("rank:K, routed-tok:I or top:M");
        assertThatThrownBy(() -> base.withSettings(StrategySettings.of(Map.of("mask-eos", "yes"))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'mask-eos' must be true or false");
        assertThat(base.withSettings(StrategySettings.of(Map.of("mask-eos", "true"))).settings().maskEos()).isTrue();
    }

    /** The paper's text counts ranks from 1; the released command's --student_routed_tok 2 is a 0-based index: the third best. */
    @Test
    void bothRankConventionsHaveTheirOwnName() {
        assertThat(WeakRouting.parse("rank:2")).isEqualTo(new WeakRouting.RankK(2));
        assertThat(WeakRouting.parse("routed-tok:2")).isEqualTo(new WeakRouting.RankK(3));
        assertThat(WeakRouting.parse("routed-tok:0")).isEqualTo(new WeakRouting.RankK(1));
        assertThat(WeakRouting.parse("top:1")).isEqualTo(new WeakRouting.TopM(1));
    }

    /**
     * Top-m follows the model: on OLMoE (no renormalisation) the weak view keeps the raw weight of
     * the model's first choice through the weight lever, on Mixtral (renormalised) it gets weight 1.
     */
    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void topMKeepsTheWeightsTheModelGives(String name) {
        Model m = TestModels.byName(name);
        RoutingPlan plan = new WeakRouting.TopM(1).plan(m.info());
        boolean renormalised = m.info().renormalized();
        assertThat(plan.edits()).allSatisfy(e -> assertThat(e).isInstanceOf(renormalised ? RouterEdit.KeepTop.class : RouterEdit.ScaleWeights.class));
        int[] prompt = m.tokenize(PROMPT);
        try (Session s = open(m)) {
            s.setPlan(1, plan);
            for (int seq = 0; seq < 2; seq++) {
                s.setTrace(seq, TraceSpec.ROUTES);
            }
            s.decode(Batch.builder().add(prompt[0], 0, 0, true).add(prompt[0], 0, 1, true).build());
            RouterTrace t = s.drainTrace();
            for (int seq = 0; seq < 2; seq++) {
                s.setTrace(seq, TraceSpec.OFF);
            }
            // the first MoE layer sees the same input in both views (later ones see the weak view's own)
            int first = m.info().moeLayers().getFirst();
            TokenRoute strong = route(t, 0, first), weak = route(t, 1, first);
            assertThat(weak.experts()[0]).isEqualTo(strong.experts()[0]);
            float expected = renormalised ? 1f : strong.weights()[0];
            assertThat(weak.weights()[0]).isCloseTo(expected, org.assertj.core.api.Assertions.within(1e-5f));
            if (!renormalised) {
                assertThat(strong.weights()[0]).as("a raw weight, below 1, so the check means something").isLessThan(0.99f);
            }
            for (int layer : m.info().moeLayers()) {
                float[] w = route(t, 1, layer).weights();
                for (int j = 1; j < w.length; j++) {
                    assertThat(w[j]).as("layer %d, choice %d", layer, j).isCloseTo(0f, org.assertj.core.api.Assertions.within(1e-6f));
                }
            }
        }
    }

    private static TokenRoute route(RouterTrace t, int sequence, int layer) {
        return t.routes().stream().filter(r -> r.sequence() == sequence && r.layer() == layer).findFirst().orElseThrow();
    }

    /** The released code masks EOS unless --early_stop: an answer that ends at EOS runs on to its limit. */
    @Test
    void maskingEosKeepsTheAnswerGoingWhereItWouldEnd() {
        try (Model m = Model.load(dev.moeadapter.core.engine.ModelParams.of(java.nio.file.Path.of("../samples/lab/models/lab-olmoe.gguf")));
             Session s = open(m)) {
            GenerationRequest req = GenerationRequest.greedy(m.tokenize("REV:abc=cba,hgde=edgh,bfa="), 12);
            GenerationResult plain = new ScmoeStrategy(ScmoeSettings.DEFAULTS).generate(s, req, (t, d) -> { }, new CancellationToken());
            GenerationResult masked = new ScmoeStrategy(ScmoeSettings.DEFAULTS.withMaskEos(true)).generate(s, req, (t, d) -> { }, new CancellationToken());
            assertThat(plain.finishReason()).isEqualTo(FinishReason.END_OF_GENERATION);
            assertThat(masked.finishReason()).isEqualTo(FinishReason.MAX_TOKENS);
            assertThat(masked.tokens()).doesNotContain(m.info().eos()).startsWith(java.util.Arrays.copyOf(plain.tokens(), plain.tokens().length - 1));
            try (Sampler hot = Sampler.create(m, new SamplingParams(1.0, 0, 1, 0, 3))) {
                assertThatThrownBy(() -> new ScmoeStrategy(ScmoeSettings.DEFAULTS.withMaskEos(true))
                        .generate(s, req.withSampling(new SamplingParams(1.0, 0, 1, 0, 3)), (t, d) -> { }, new CancellationToken()))
                        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("greedy decoding only");
            }
        }
    }
}
