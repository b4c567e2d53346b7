package dev.moeadapter.rerouting;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.engine.SequenceRuns;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.routing.RoutingPlan;

import java.util.List;
import java.util.stream.IntStream;

/**
 * Mean next-token NLL of a context under several routing plans at once. Plan j runs on sequence
 * {@code firstSequence + j}, which keeps its positions before {@code from} (a prefix the caller put
 * there, or none) and re-decodes positions [from, to) under the plan: a router delta changes the
 * routing, hence the keys and values, of every token it applies to, so nothing after the prefix
 * can be shared between plans. All sequences advance together, {@code batchSize / plans} positions
 * per decode, so each decode is one large batch; the NLL is read natively, row by row.
 */
final class ContextLoss {
    private final DecodeLane session;

    ContextLoss(DecodeLane session) {
        this.session = session;
    }

    /**
     * Decodes positions [from, to) of {@code context} under each plan and returns each plan's mean
     * −log p(context[i+1]) over those positions; {@code to} must not exceed {@code context.length - 1}.
     */
    float[] evaluate(int[] context, int from, int to, List<RoutingPlan> plans, int firstSequence, CancellationToken cancel) {
        if (from < 0 || to <= from || to >= context.length) {
            throw new IllegalArgumentException("positions [" + from + ", " + to + ") of a " + context.length + "-token context");
        }
        int n = plans.size();
        for (int j = 0; j < n; j++) {
            session.removeTokens(firstSequence + j, from, Integer.MAX_VALUE);
            session.setPlan(firstSequence + j, plans.get(j));
        }
        double[] sums = new double[n];
        // copy after copy in long runs (see SequenceRuns), every row scored
        for (List<SequenceRuns.Run> runs : SequenceRuns.of(n, from, to, session.batchSize())) {
            if (cancel.isCancelled()) {
                throw new CancelledException("cancelled while rerouting");
            }
            Batch.Builder b = Batch.builder();
            int rows = runs.stream().mapToInt(SequenceRuns.Run::size).sum();
            int[] idx = IntStream.range(0, rows).toArray(), tgt = new int[rows], copy = new int[rows];
            for (SequenceRuns.Run r : runs) {
                for (int i = r.from(); i < r.to(); i++) {
                    tgt[b.size()] = context[i + 1];
                    copy[b.size()] = r.index();
                    b.add(context[i], i, firstSequence + r.index(), true);
                }
            }
            session.decode(b.build());
            float[] nll = session.nll(idx, tgt);
            for (int r = 0; r < nll.length; r++) {
                sums[copy[r]] += nll[r];
            }
        }
        float[] means = new float[n];
        for (int j = 0; j < n; j++) {
            means[j] = (float) (sums[j] / (to - from));
        }
        return means;
    }
}
