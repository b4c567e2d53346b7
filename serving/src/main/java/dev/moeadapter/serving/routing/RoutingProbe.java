package dev.moeadapter.serving.routing;

import dev.moeadapter.core.adaptation.RoutingViews;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.generation.FinishReason;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingDistance;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TokenRoute;
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

    private final DecodeLane session;
    private final RoutingViews views;
    private final ModelInfo info;
    private final int from;
    private final int routesOf;
    private final RoutingRecorder recorder;
    /** what {@link #tap} drained while the answer was generated */
    private final List<TokenRoute> drainedRoutes = new ArrayList<>();
    private final List<TokenProbabilities> drainedProbabilities = new ArrayList<>();
    private boolean stopped;

    private RoutingProbe(DecodeLane session, RoutingViews views, int promptLength, int routesOf, RoutingRecorder recorder) {
        this.session = session;
        this.views = views;
        this.info = session.model().info();
        this.from = promptLength - 1;
        this.routesOf = routesOf;
        this.recorder = recorder;
    }

    /** Starts tracing the views a strategy names; call before it generates. */
    public static RoutingProbe start(DecodeLane session, RoutingViews views, int promptLength) {
        return start(session, views, promptLength, NO_ROUTES, RoutingRecorder.none(session.model().info()));
    }

    /**
     * Starts tracing as {@link #start(DecodeLane, RoutingViews, int)} does, and, where {@code recorder} is
     * active, the answer's sequence for it (the planned one, the base of side-by-side views, else 0);
     * {@link #tap} the strategy's listener so that each sent token makes its rows final.
     */
    public static RoutingProbe start(DecodeLane session, RoutingViews views, int promptLength, RoutingRecorder recorder) {
        recorder.reset();
        int answer = switch (views) {
            case RoutingViews.Planned p -> p.sequence();
            case RoutingViews.SideBySide s -> s.base();
            case RoutingViews.Unchanged u -> 0;
        };
        return start(session, views, promptLength, recorder.active() ? answer : NO_ROUTES, recorder);
    }

    /**
     * Starts tracing as {@link #start(DecodeLane, RoutingViews, int)} does, and records besides the
     * selected experts of every token decoded on {@code sequence} (in {@link Measurement#trace()}).
     */
    public static RoutingProbe startWithRoutes(DecodeLane session, RoutingViews views, int promptLength, int sequence) {
        return start(session, views, promptLength, sequence, RoutingRecorder.none(session.model().info()));
    }

    private static RoutingProbe start(DecodeLane session, RoutingViews views, int promptLength, int routesOf, RoutingRecorder recorder) {
        RoutingProbe probe = new RoutingProbe(session, views, promptLength, routesOf, recorder);
        Map<Integer, TraceSpec> specs = new HashMap<>();
        if (probe.traced()) {
            for (int s : probe.sequences()) {
                specs.put(s, new TraceSpec(false, PositionRange.from(probe.from)));
            }
        }
        if (routesOf != NO_ROUTES && probe.info.isMoe()) {
            // a client's probabilities cover every row, which includes the rows the summary compares
            specs.merge(routesOf, new TraceSpec(true, recorder.wantsProbabilities() ? PositionRange.ALL : PositionRange.NONE),
                    (measured, routes) -> new TraceSpec(true, recorder.wantsProbabilities() ? PositionRange.ALL : measured.probabilities()));
        }
        specs.forEach(session::setTrace);
        return probe;
    }

    /**
     * The listener to give the strategy: where a recorder is active, each token sent makes the rows
     * decoded so far final before the client hears of it. Call on the generating thread.
     */
    public TokenListener tap(TokenListener listener) {
        if (!recorder.active()) {
            return listener;
        }
        return new TokenListener.PerToken() {
            private int tokens;

            @Override
            public void onTokens(int[] completed, String text) {
                // the rows that produced the answer's tokens so far; a row decoded ahead (the loop's pick
                // for the next token, a round's re-decode) stays open until its token is sent
                tokens += completed.length;
                drain();
                recorder.freeze(from + tokens); // from: the prompt's last row
                listener.onTokens(completed, text);
            }
        };
    }

    /** Drains the session's trace into the recorder, keeping it for the measurement. */
    private void drain() {
        RouterTrace t = session.drainTrace();
        recorder.record(t, routesOf);
        drainedRoutes.addAll(t.routes());
        drainedProbabilities.addAll(t.probabilities());
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
    public RoutingSummary finish(int[] prompt, int[] generated, FinishReason reason) {
        return measure(prompt, generated, reason).summary();
    }

    /**
     * Measures the shift of an answer of {@code generated} tokens after {@code prompt} that ended for
     * {@code reason}; call once, after generation.
     */
    public Measurement measure(int[] prompt, int[] generated, FinishReason reason) {
        int n = generated.length;
        if (!info.isMoe()) {
            return new Measurement(RoutingSummary.unchanged(info.moeLayers(), n), new RouterTrace(List.of(), List.of()));
        }
        drain();
        // the rows that produced the answer: the prompt's and all but the last token's, and that one's too where it
        // produced the end of generation; a row decoded beyond them (a cut round, a pick ahead) produced nothing sent
        recorder.freeze(prompt.length + n - 1 + (reason == FinishReason.END_OF_GENERATION ? 1 : 0));
        RouterTrace answered = new RouterTrace(drainedRoutes, drainedProbabilities);
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
