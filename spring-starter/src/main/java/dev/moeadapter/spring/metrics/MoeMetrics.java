package dev.moeadapter.spring.metrics;

import dev.moeadapter.serving.experiment.AnswerRecord;
import dev.moeadapter.serving.metrics.Answered;
import dev.moeadapter.serving.metrics.ArmStatistics;
import dev.moeadapter.serving.metrics.ServingMetrics;
import dev.moeadapter.serving.policy.Arm;
import dev.moeadapter.serving.policy.Policy;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The service's metrics. OpenTelemetry GenAI server metrics ({@code gen_ai.server.request.duration},
 * {@code gen_ai.server.time_to_first_token}, {@code gen_ai.server.time_per_output_token}, with the
 * bucket boundaries the conventions recommend) and token usage; the conventions define token usage
 * only as {@code gen_ai.client.token.usage}, which is used here with {@code gen_ai.token.type}
 * input/output. All are tagged with {@code gen_ai.operation.name} (chat, text_completion),
 * {@code gen_ai.provider.name}, {@code gen_ai.request.model}, and this service's {@code policy} and
 * {@code arm}. Ours: {@code moe.adapter.adaptation.duration} (the answering strategy's time before its
 * first token), {@code moe.adapter.routing.shift}, {@code moe.adapter.fallbacks} by reason, and
 * feedback ({@code moe.adapter.feedback} by verdict, {@code moe.adapter.feedback.score}). Beside them,
 * each arm's totals since startup ({@link ArmStatistics}).
 */
public final class MoeMetrics implements ServingMetrics {
    public static final String PROVIDER = "moe_adapter";

    private static final double[] DURATION_BUCKETS = {0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
    private static final double[] TTFT_BUCKETS = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0};
    private static final double[] TPOT_BUCKETS = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5};
    private static final double[] TOKEN_BUCKETS = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};

    private final MeterRegistry registry;
    private final String model;
    private final Map<String, ArmStatistics> arms = new ConcurrentHashMap<>();

    public MoeMetrics(MeterRegistry registry, String model, Collection<Policy> policies) {
        this.registry = registry;
        this.model = model;
        policies.forEach(p -> p.arms().forEach(a -> arms.put(a.key(), new ArmStatistics())));
    }

    @Override
    public void answered(Answered a) {
        Arm arm = a.arm();
        String operation = a.operation(), fallback = a.fallback() == null ? null : a.fallback().label();
        int outputTokens = a.outputTokens();
        long requestNanos = a.requestNanos(), firstTokenNanos = a.firstTokenNanos();
        Tags tags = Tags.of("gen_ai.operation.name", operation, "gen_ai.provider.name", PROVIDER, "gen_ai.request.model", model,
                "policy", arm.policy(), "arm", arm.name());
        Timer.builder("gen_ai.server.request.duration").description("GenAI server request duration, to the last output token")
                .tags(tags).serviceLevelObjectives(durations(DURATION_BUCKETS)).register(registry)
                .record(requestNanos, TimeUnit.NANOSECONDS);
        if (firstTokenNanos >= 0) {
            Timer.builder("gen_ai.server.time_to_first_token").description("Time to generate the first token")
                    .tags(tags).serviceLevelObjectives(durations(TTFT_BUCKETS)).register(registry)
                    .record(firstTokenNanos, TimeUnit.NANOSECONDS);
            if (outputTokens > 1) {
                Timer.builder("gen_ai.server.time_per_output_token").description("Time per output token after the first")
                        .tags(tags).serviceLevelObjectives(durations(TPOT_BUCKETS)).register(registry)
                        .record((requestNanos - firstTokenNanos) / (outputTokens - 1), TimeUnit.NANOSECONDS);
            }
        }
        tokens(tags, "input").record(a.inputTokens());
        tokens(tags, "output").record(outputTokens);
        Tags armTags = Tags.of("policy", arm.policy(), "arm", arm.name());
        if (fallback == null) {
            Timer.builder("moe.adapter.adaptation.duration").description("Time the arm's strategy took before its first token")
                    .tags(armTags).tag("adaptation", arm.adaptation()).register(registry).record(a.adaptationNanos(), TimeUnit.NANOSECONDS);
        } else {
            Counter.builder("moe.adapter.fallbacks").description("Answers given by plain generation instead of the arm's adaptation")
                    .tags(armTags).tag("reason", fallback).register(registry).increment();
        }
        if (a.routingShift() != null) {
            DistributionSummary.builder("moe.adapter.routing.shift")
                    .description("Mean total-variation distance between the arm's router distributions and the model's own")
                    .tags(armTags).register(registry).record(a.routingShift());
        }
        stats(arm).answered(a);
    }

    /** Tagged with what answered ({@code adaptation}): the arm's own adaptation, or {@code none} after a fallback. */
    @Override
    public void feedback(AnswerRecord answer, Boolean correct, Double score) {
        Tags armTags = Tags.of("policy", answer.policy(), "arm", answer.arm(), "adaptation", answer.answeredBy());
        String verdict = correct == null ? "score" : correct ? "correct" : "incorrect";
        Counter.builder("moe.adapter.feedback").description("Feedback received on the arm's answers")
                .tags(armTags).tag("verdict", verdict).register(registry).increment();
        if (score != null) {
            DistributionSummary.builder("moe.adapter.feedback.score").description("Scores given to the arm's answers")
                    .tags(armTags).register(registry).record(score);
        }
        arms.computeIfAbsent(answer.policy() + "/" + answer.arm(), k -> new ArmStatistics()).feedback(correct, score);
    }

    /** The arm's totals since startup. */
    public ArmStatistics.Snapshot statistics(Arm arm) {
        return stats(arm).snapshot();
    }

    private ArmStatistics stats(Arm arm) {
        return arms.computeIfAbsent(arm.key(), k -> new ArmStatistics());
    }

    private DistributionSummary tokens(Tags tags, String type) {
        return DistributionSummary.builder("gen_ai.client.token.usage").description("Number of input and output tokens used")
                .baseUnit("tokens").tags(tags).tag("gen_ai.token.type", type).serviceLevelObjectives(TOKEN_BUCKETS).register(registry);
    }

    private static Duration[] durations(double[] seconds) {
        return Arrays.stream(seconds).mapToObj(s -> Duration.ofNanos(Math.round(s * 1e9))).toArray(Duration[]::new);
    }
}
