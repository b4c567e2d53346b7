package dev.moeadapter.serving.routing;

import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.testmodels.TestModels;
import dev.moeadapter.serving.AdaptationRegistry;
import dev.moeadapter.serving.BadParameterException;
import dev.moeadapter.serving.admission.Admission;
import dev.moeadapter.serving.feedback.FeedbackLedger;
import dev.moeadapter.serving.experiment.InMemoryOutcomeStore;
import dev.moeadapter.serving.generation.GenerationCommand;
import dev.moeadapter.serving.generation.GenerationLimits;
import dev.moeadapter.serving.generation.GenerationOutcome;
import dev.moeadapter.serving.generation.GenerationService;
import dev.moeadapter.serving.generation.SessionPool;
import dev.moeadapter.serving.guard.ArmGuards;
import dev.moeadapter.serving.guard.BreakerSettings;
import dev.moeadapter.serving.metrics.ServingMetrics;
import dev.moeadapter.serving.policy.Arm;
import dev.moeadapter.serving.policy.PolicyRouter;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A routing trace through the serving core on a model with a hash-routed layer (the DeepSeek-V4
 * test model: layer 0 takes token t to experts 3t … 3t + k − 1 mod n): the trace says the layer has
 * no router and shows the token's hashed experts; its router probabilities cannot be asked for.
 */
class HashRoutedTraceTest {
    @Test
    void hashRoutedLayerShowsTheTokensExpertsAndHasNoProbabilities() {
        Model model = TestModels.byName("deepseek4");
        AdaptationRegistry strategies = new AdaptationRegistry(List.of(new PlainGeneration()));
        PolicyRouter policies = PolicyRouter.builder(strategies, model.info()).build();
        try (SessionPool pool = new SessionPool(model, new SessionParams(256, 64, 1, 1, 1), 1);
             ArmGuards guards = new ArmGuards(BreakerSettings.DEFAULTS, policies.policies(), strategies.get(Arm.PLAIN))) {
            GenerationService service = GenerationService.builder().model(model).pool(pool).strategies(strategies).policies(policies)
                    .admission(new Admission(1, Duration.ZERO, 0)).guards(guards).metrics(ServingMetrics.NONE)
                    .ledger(new FeedbackLedger(new InMemoryOutcomeStore(Duration.ofMinutes(1), 10), Duration.ofMinutes(1), Clock.systemUTC(), ServingMetrics.NONE))
                    .limits(new GenerationLimits(256, 8, new GenerationLimits.SamplingDefaults(4, 0, 0, 1, 0), 1 << 20)).build();
            int hashed = model.info().moeLayers().getFirst();
            assertThat(model.info().routing(hashed).hasRouter()).isFalse();

            String prompt = "a hash-routed layer";
            GenerationOutcome o = service.generate(command(prompt, List.of()), TokenListener.NONE, CancellationToken.none());
            RoutedExperts r = o.routedExperts();
            RoutedExperts.LayerCoverage coverage = r.coverage().getFirst();
            assertThat(coverage.hasRouter()).isFalse();
            int[] tokens = model.tokenize(prompt, true, false);
            assertThat(coverage.spans()).isNotEmpty();
            int width = r.layers().size() * r.topK(), n = model.info().experts(), checked = 0;
            for (RoutedExperts.RowSpan span : coverage.spans()) {
                for (int row = span.from(); row < Math.min(span.to(), tokens.length); row++) {
                    Set<Integer> expected = new TreeSet<>(), traced = new TreeSet<>();
                    for (int j = 0; j < r.topK(); j++) {
                        expected.add((int) ((3L * tokens[row] + j) % n));
                    }
                    Arrays.stream(Arrays.copyOfRange(r.experts(), row * width, row * width + r.topK())).forEach(traced::add);
                    assertThat(traced).as("row %d, token %d", row, tokens[row]).isEqualTo(expected);
                    checked++;
                }
            }
            assertThat(checked).isEqualTo(tokens.length);

            assertThatThrownBy(() -> service.prepare(command(prompt, List.of(hashed))))
                    .isInstanceOfSatisfying(BadParameterException.class,
                            e -> assertThat(e.param()).isEqualTo("routing_trace.probabilities"))
                    .hasMessageContaining("hash-routed");
        }
    }

    private static GenerationCommand command(String prompt, List<Integer> probabilityLayers) {
        return new GenerationCommand(prompt, null, 4, 0.0, null, null, null, null, null, null, null, null, null,
                new RoutingTraceRequest(probabilityLayers));
    }
}
