package dev.moeadapter.serving.routing;

import dev.moeadapter.core.adaptation.RoutingViews;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingDistance;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TraceSpec;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The one measure of routing shift, for the service and the evaluation harness alike: records the
 * router distributions of the forward passes that produce an answer's tokens (positions prompt−1
 * onward) and compares them with the model's own routing into a {@link RoutingSummary}.
 * Cost: the traced layers split llama.cpp's graph while the answer is generated; a strategy whose
 * base view is not decoded alongside ({@link RoutingViews.Planned}) costs one more batched decode of
 * prompt + answer without edits. Plain generation costs nothing.
 */
public final class RoutingProbe {
    /** No sequence's routes are recorded. */
    private static final int NO_ROUTES = -1;

    private final Session session;
    private final RoutingViews views;
    private final ModelInfo info;
    private final int from;
    private final int routesOf;
    private boolean stopped;

    private RoutingProbe(Session session, RoutingViews views, int promptLength, int routesOf) {
        this.session = session;
        this.views = views;
        this.info = session.model().info();
        this.from = promptLength - 1;
        this.routesOf = routesOf;
    }

    /** Starts tracing the views a strategy names; call before it generates. */
    public static RoutingProbe start(Session session, RoutingViews views, int promptLength) {
        return start(session, views, promptLength, NO_ROUTES);
    }

    /**
     * Starts tracing as {@link #start(Session, RoutingViews, int)} does, and records besides the
     * selected experts of every token decoded on {@code sequence} (in {@link Measurement#trace()}).
     */
    public static RoutingProbe startWithRoutes(Session session, RoutingViews views, int promptLength, int sequence) {
        return start(session, views, promptLength, sequence);
    }

    private static RoutingProbe start(Session session, RoutingViews views, int promptLength, int routesOf) {
        RoutingProbe probe = new RoutingProbe(session, views, promptLength, routesOf);
        boolean routesTraced = routesOf == NO_ROUTES || !probe.info.isMoe();
        if (probe.traced()) {
            for (int s : probe.sequences()) {
                session.setTrace(s, new TraceSpec(s == routesOf, PositionRange.from(probe.from)));
                routesTraced |= s == routesOf;
            }
        }
        if (!routesTraced) {
            session.setTrace(routesOf, TraceSpec.ROUTES);
        }
        return probe;
    }

    private boolean traced() {
        return info.isMoe() && !(views instanceof RoutingViews.Unchanged) && sequences().stream().allMatch(s -> s >= 0 && s < session.sequences());
    }

    private List<Integer> sequences() {
        return switch (views) {
            case RoutingViews.Unchanged u -> List.of();
            case RoutingViews.Planned p -> List.of(p.sequence());
            case RoutingViews.SideBySide s -> List.of(s.adapted(), s.base());
        };
    }

    /**
     * What a probe measured.
     *
     * @param summary how far routing moved; null where the strategy's views could not be traced (e.g. it read the trace itself)
     * @param trace   what was traced while the answer was generated (empty for a model without MoE layers)
     */
    public record Measurement(RoutingSummary summary, RouterTrace trace) {
    }

    /** The summary for an answer of {@code generated} tokens after {@code prompt}; see {@link #measure}. */
    public RoutingSummary finish(int[] prompt, int[] generated) {
        return measure(prompt, generated).summary();
    }

    /** Measures the shift of an answer of {@code generated} tokens after {@code prompt}; call once, after generation. */
    public Measurement measure(int[] prompt, int[] generated) {
        int n = generated.length;
        if (!info.isMoe()) {
            return new Measurement(RoutingSummary.unchanged(info.moeLayers(), n), new RouterTrace(List.of(), List.of()));
        }
        RouterTrace answered = session.drainTrace();
        if (views instanceof RoutingViews.Unchanged) {
            return new Measurement(RoutingSummary.unchanged(info.moeLayers(), n), answered);
        }
        if (!traced()) {
            return new Measurement(null, answered);
        }
        Map<Long, float[]> first = byPosition(answered.probabilities());
        Map<Long, float[]> adapted, base;
        switch (views) {
            case RoutingViews.SideBySide s -> {
                adapted = only(first, s.adapted());
                base = only(first, s.base());
            }
            case RoutingViews.Planned p -> {
                adapted = only(first, p.sequence());
                base = only(redecodeWithoutEdits(p.sequence(), prompt, generated), p.sequence());
            }
            case RoutingViews.Unchanged u -> throw new IllegalStateException("handled above");
        }
        List<RoutingSummary.LayerShift> layers = new ArrayList<>();
        int compared = 0;
        for (int layer : info.moeLayers()) {
            double sum = 0;
            int count = 0;
            for (int pos = from; pos < from + n; pos++) {
                float[] p = adapted.get(key(0, pos, layer)), q = base.get(key(0, pos, layer));
                if (p != null && q != null) {
                    sum += RoutingDistance.totalVariation(p, q);
                    count++;
                }
            }
            compared = Math.max(compared, count);
            layers.add(new RoutingSummary.LayerShift(layer, count == 0 ? 0 : sum / count));
        }
        if (n > 0 && compared == 0) {
            return new Measurement(null, answered);
        }
        return new Measurement(new RoutingSummary(compared, layers.stream().mapToDouble(RoutingSummary.LayerShift::shift).average().orElse(0),
                layers), answered);
    }

    /** Decodes prompt and answer once more on {@code sequence} with the model's own routing, tracing the answer's positions. */
    private Map<Long, float[]> redecodeWithoutEdits(int sequence, int[] prompt, int[] generated) {
        session.clearPlan(sequence);
        session.clearSequence(sequence);
        int total = prompt.length + Math.max(0, generated.length - 1); // the last token was never decoded
        int[] tokens = new int[total];
        System.arraycopy(prompt, 0, tokens, 0, prompt.length);
        System.arraycopy(generated, 0, tokens, prompt.length, total - prompt.length);
        for (int start = 0; start < total; start += session.batchSize()) {
            int end = Math.min(total, start + session.batchSize());
            Batch.Builder b = Batch.builder();
            for (int i = start; i < end; i++) {
                // outputs at the traced positions: the last MoE layer only computes rows that have one
                b.add(tokens[i], i, sequence, i >= from);
            }
            session.decode(b.build());
        }
        return byPosition(session.drainTrace().probabilities());
    }

    /** Turns this probe's traces off and drops what they recorded. */
    public void stop() {
        if (!stopped && (traced() || routesOf != NO_ROUTES)) {
            stopped = true;
            for (int s : sequences()) {
                session.setTrace(s, TraceSpec.OFF);
            }
            if (routesOf != NO_ROUTES) {
                session.setTrace(routesOf, TraceSpec.OFF);
            }
            session.drainTrace();
        }
    }

    private static Map<Long, float[]> byPosition(List<TokenProbabilities> probabilities) {
        Map<Long, float[]> m = new HashMap<>();
        for (TokenProbabilities t : probabilities) {
            m.put(key(t.sequence(), t.position(), t.layer()), t.probabilities());
        }
        return m;
    }

    /** The entries of one sequence, re-keyed as sequence 0 so two views can be matched by position and layer. */
    private static Map<Long, float[]> only(Map<Long, float[]> all, int sequence) {
        Map<Long, float[]> m = new HashMap<>();
        all.forEach((k, v) -> {
            if ((int) (k >>> 48) == sequence) {
                m.put(k & 0xFFFF_FFFF_FFFFL, v);
            }
        });
        return m;
    }

    private static long key(int sequence, int position, int layer) {
        return ((long) sequence << 48) | ((long) position << 16) | layer;
    }
}
