package dev.moeadapter.serving.metrics;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAccumulator;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * Running totals of one arm since startup, for the read endpoint. Kept beside a metrics backend's
 * meters because a meter's count is what its registry makes of it (a step registry reports the last
 * step only), while this endpoint promises totals.
 */
public final class ArmStatistics {
    public ArmStatistics() {
    }

    private final LongAdder requests = new LongAdder();
    private final DoubleAdder seconds = new DoubleAdder();
    private final DoubleAccumulator maxSeconds = new DoubleAccumulator(Math::max, 0);
    private final LongAdder inputTokens = new LongAdder(), outputTokens = new LongAdder();
    private final Map<String, LongAdder> fallbacks = new ConcurrentHashMap<>();
    private final LongAdder adapted = new LongAdder();
    private final DoubleAdder adaptationSeconds = new DoubleAdder();
    private final LongAdder shifts = new LongAdder();
    private final DoubleAdder shiftSum = new DoubleAdder();
    private final LongAdder correct = new LongAdder(), incorrect = new LongAdder(), scored = new LongAdder();
    private final DoubleAdder scoreSum = new DoubleAdder();

    public void answered(Answered a) {
        double requestSeconds = a.requestNanos() / 1e9;
        requests.increment();
        seconds.add(requestSeconds);
        maxSeconds.accumulate(requestSeconds);
        inputTokens.add(a.inputTokens());
        outputTokens.add(a.outputTokens());
        if (a.fallback() != null) {
            fallbacks.computeIfAbsent(a.fallback().label(), f -> new LongAdder()).increment();
        } else {
            adapted.increment();
            adaptationSeconds.add(a.adaptationNanos() / 1e9);
        }
        if (a.routingShift() != null) {
            shifts.increment();
            shiftSum.add(a.routingShift());
        }
    }

    public void feedback(Boolean isCorrect, Double score) {
        if (isCorrect != null) {
            (isCorrect ? correct : incorrect).increment();
        } else {
            scored.increment();
            scoreSum.add(score);
        }
    }

    public Snapshot snapshot() {
        long n = requests.sum(), c = correct.sum(), i = incorrect.sum(), s = scored.sum(), a = adapted.sum(), sh = shifts.sum();
        Map<String, Long> fb = new TreeMap<>();
        fallbacks.forEach((k, v) -> fb.put(k, v.sum()));
        return new Snapshot(n, n == 0 ? null : 1000 * seconds.sum() / n, n == 0 ? null : 1000 * maxSeconds.get(),
                new Tokens(inputTokens.sum(), outputTokens.sum()), fb,
                a == 0 ? null : 1000 * adaptationSeconds.sum() / a, sh == 0 ? null : shiftSum.sum() / sh,
                new Feedback(c + i + s, c, i, c + i == 0 ? null : (double) c / (c + i), s, s == 0 ? null : scoreSum.sum() / s));
    }

    /** Totals of one arm; averages are null until there is something to average. */
    public record Snapshot(long requests, @JsonProperty("latency_mean_ms") Double latencyMeanMs,
                           @JsonProperty("latency_max_ms") Double latencyMaxMs, Tokens tokens, Map<String, Long> fallbacks,
                           @JsonProperty("adaptation_mean_ms") Double adaptationMeanMs,
                           @JsonProperty("routing_shift_mean") Double routingShiftMean, Feedback feedback) {
    }

    public record Tokens(long input, long output) {
    }

    /**
     * @param count       feedback received (correct/incorrect verdicts and scores)
     * @param correctRate correct / (correct + incorrect)
     * @param meanScore   the mean of the scores received
     */
    public record Feedback(long count, long correct, long incorrect, @JsonProperty("correct_rate") Double correctRate,
                           long scores, @JsonProperty("mean_score") Double meanScore) {
    }
}
