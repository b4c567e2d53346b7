package dev.moeadapter.serving.routing;

import dev.moeadapter.core.adaptation.RoutingViews;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RoutingDistance;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TraceSpec;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Records the router distributions of the forward passes that produce an answer's tokens (positions
 * prompt−1 onward) and compares them with the model's own routing into a {@link RoutingSummary}.
 * Cost: the traced layers split llama.cpp's graph while the answer is generated; a strategy whose
 * base view is not decoded alongside ({@link RoutingViews.Planned}) costs one more batched decode of
 * prompt + answer without edits. Plain generation costs nothing.
 */
public final class RoutingProbe {
    private final Session session;
    private final RoutingViews views;
    private final ModelInfo info;
    private final int from;
    private boolean stopped;

    private RoutingProbe(Session session, RoutingViews views, int promptLength) {
        this.session = session;
        this.views = views;
        this.info = session.model().info();
        this.from = promptLength - 1;
    }

    /** Starts tracing the views a strategy names; call before it generates. */
    public static RoutingProbe start(Session session, RoutingViews views, int promptLength) {
        RoutingProbe probe = new RoutingProbe(session, views, promptLength);
        if (probe.traced()) {
            TraceSpec spec = new TraceSpec(false, PositionRange.from(probe.from));
            for (int s : probe.sequences()) {
                session.setTrace(s, spec);
            }
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
     * The summary for an answer of {@code generated} tokens after {@code prompt}; null when the
     * strategy's views could not be traced (e.g. it read the trace itself).
     */
    public RoutingSummary finish(int[] prompt, int[] generated) {
        int n = generated.length;
        if (views instanceof RoutingViews.Unchanged || !info.isMoe()) {
            return RoutingSummary.unchanged(info.moeLayers(), n);
        }
        if (!traced()) {
            return null;
        }
        Map<Long, float[]> first = byPosition(session.drainTrace().probabilities());
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
            return null;
        }
        return new RoutingSummary(compared, layers.stream().mapToDouble(RoutingSummary.LayerShift::shift).average().orElse(0), layers);
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
        if (!stopped && traced()) {
            stopped = true;
            for (int s : sequences()) {
                session.setTrace(s, TraceSpec.OFF);
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
