package dev.moeadapter.spring.metrics;

import dev.moeadapter.serving.admission.Admission;
import dev.moeadapter.serving.batching.DecodeLoop;
import dev.moeadapter.serving.generation.GenerationService;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * How requests are scheduled, read from admission and the decode loop when scraped:
 * {@code moe.adapter.admission.permits} / {@code .in.use} / {@code .queue} (requests waiting for a
 * permit), {@code moe.adapter.admission.admitted} / {@code .refused}, and
 * {@code moe.adapter.admission.wait} (time in queue of admitted requests, a distribution). With continuous
 * batching: {@code moe.adapter.batching.steps} and {@code .rows} (their ratio is rows per step),
 * {@code .step.rows} and {@code .step.time} (distributions per step), {@code .lanes.held} (slot occupancy), {@code .lanes.waiting} (lanes whose
 * rows wait for the next step), {@code .reused.tokens} (prompt tokens shared, not decoded),
 * {@code .rows.ahead}, {@code .picks.unclaimed}, and {@code .busy} / {@code .stalled} (seconds the loop
 * spent in steps, and waiting for a request's thread while other rows were ready). Where some arm needs
 * a wide lane of the loop: {@code moe.adapter.admission.wide.in.use} / {@code .wide.queue} /
 * {@code .wide.refused}.
 */
public final class SchedulingMetrics {
    private SchedulingMetrics() {
    }

    public static void bind(MeterRegistry registry, Admission admission, Optional<DecodeLoop> loop) {
        Gauge.builder("moe.adapter.admission.permits", admission, a -> a.stats().permits())
                .description("Requests that can be served at once (sessions or decode-loop lanes)").register(registry);
        Gauge.builder("moe.adapter.admission.in.use", admission, a -> a.stats().inUse())
                .description("Permits held by requests being served").register(registry);
        Gauge.builder("moe.adapter.admission.queue", admission, a -> a.stats().waiting())
                .description("Requests waiting for a permit").register(registry);
        FunctionCounter.builder("moe.adapter.admission.admitted", admission, a -> a.stats().admitted())
                .description("Requests admitted").register(registry);
        FunctionCounter.builder("moe.adapter.admission.refused", admission, a -> a.stats().refused())
                .description("Requests refused for want of capacity (503)").register(registry);
        FunctionCounter.builder("moe.adapter.admission.departed", admission, a -> a.stats().departed())
                .description("Requests that left the queue because their client went away").register(registry);
        Timer wait = Timer.builder("moe.adapter.admission.wait").description("Time admitted requests waited for a permit")
                .publishPercentiles(0.5, 0.99).publishPercentileHistogram().register(registry);
        admission.observeWaits(nanos -> wait.record(nanos, TimeUnit.NANOSECONDS));
        loop.ifPresent(l -> {
            FunctionCounter.builder("moe.adapter.batching.steps", l, d -> d.stats().steps())
                    .description("Decode steps of the continuous-batching loop").register(registry);
            FunctionCounter.builder("moe.adapter.batching.rows", l, d -> d.stats().rows())
                    .description("Rows decoded by the loop's steps (rows per step: rows / steps)").register(registry);
            // its max (moe.adapter.batching.step.rows.max, recent steps) takes the name of the gauge of the most rows of any step
            DistributionSummary stepRows = DistributionSummary.builder("moe.adapter.batching.step.rows").baseUnit("rows")
                    .description("Rows per decode step").publishPercentiles(0.5, 0.99).publishPercentileHistogram()
                    .minimumExpectedValue(1.0).maximumExpectedValue(4096.0).register(registry);
            Timer stepTime = Timer.builder("moe.adapter.batching.step.time")
                    .description("Time of a decode step (llama_decode and the picks): every active request's time between tokens")
                    .publishPercentiles(0.5, 0.99).publishPercentileHistogram().register(registry);
            l.observeSteps((rows, nanos) -> {
                stepRows.record(rows);
                stepTime.record(nanos, TimeUnit.NANOSECONDS);
            });
            Gauge.builder("moe.adapter.batching.lanes.held", l, d -> d.stats().lanesHeld())
                    .description("Lanes held by requests (slot occupancy)").register(registry);
            Gauge.builder("moe.adapter.batching.lanes.waiting", l, d -> d.stats().lanesWaiting())
                    .description("Lanes whose rows wait for the next step").register(registry);
            FunctionCounter.builder("moe.adapter.batching.reused.tokens", l, d -> d.stats().reusedTokens())
                    .description("Prompt tokens shared from a kept prompt instead of decoded").register(registry);
            FunctionCounter.builder("moe.adapter.batching.rows.ahead", l, d -> d.stats().rowsAhead())
                    .description("Rows of a picked token the loop queued before its request asked for them").register(registry);
            FunctionCounter.builder("moe.adapter.batching.picks.unclaimed", l, d -> d.stats().picksUnclaimed())
                    .description("Picks whose request had not asked for them when their step ended (its next row skips a step)").register(registry);
            FunctionCounter.builder("moe.adapter.batching.busy", l, d -> d.stats().busy().toNanos() / 1e9)
                    .baseUnit("seconds").description("Time the loop's thread spent in steps").register(registry);
            FunctionCounter.builder("moe.adapter.batching.stalled", l, d -> d.stats().stalled().toNanos() / 1e9)
                    .baseUnit("seconds").description("Time ready rows waited for a request's thread to read the previous step's outputs").register(registry);
        });
    }

    /** The queue for the decode loop's wide lanes, where the service has one. */
    public static void bindWideLanes(MeterRegistry registry, GenerationService service) {
        if (service.wideAdmissionStats().isEmpty()) {
            return;
        }
        Gauge.builder("moe.adapter.admission.wide.in.use", service, s -> s.wideAdmissionStats().orElseThrow().inUse())
                .description("Wide decode-loop lanes held (a request whose arm needs more than two sequences)").register(registry);
        Gauge.builder("moe.adapter.admission.wide.queue", service, s -> s.wideAdmissionStats().orElseThrow().waiting())
                .description("Requests waiting for a wide decode-loop lane").register(registry);
        FunctionCounter.builder("moe.adapter.admission.wide.refused", service, s -> s.wideAdmissionStats().orElseThrow().refused())
                .description("Requests refused for want of a wide decode-loop lane (503)").register(registry);
    }
}
