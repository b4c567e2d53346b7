package dev.moeadapter.rerouting;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.routing.RoutingPlan;

import java.util.List;

/**
 * Mean next-token NLL of a context under several routing plans at once. Plan j runs on sequence
 * {@code firstSequence + j}, which is emptied and re-decoded from position 0: a router delta
 * changes the routing, hence the keys and values, of every token, so nothing can be shared between
 * plans. All sequences advance together, {@code batchSize / plans} positions per decode, so each
 * decode is one large batch; the NLL is read natively, row by row.
 */
final class ContextLoss {
    private final Session session;

    ContextLoss(Session session) {
        this.session = session;
    }

    /**
     * Decodes positions [0, length) of {@code context} under each plan and returns each plan's mean
     * −log p(context[i+1]) over the decoded positions i that have a next token.
     */
    float[] evaluate(int[] context, int length, List<RoutingPlan> plans, int firstSequence, CancellationToken cancel) {
        int n = plans.size();
        for (int j = 0; j < n; j++) {
            session.clearSequence(firstSequence + j);
            session.setPlan(firstSequence + j, plans.get(j));
        }
        double[] sums = new double[n];
        int targets = Math.min(length, context.length - 1);
        int chunk = session.batchSize() / n;
        for (int start = 0; start < length; start += chunk) {
            if (cancel.isCancelled()) {
                throw new CancelledException("cancelled while rerouting");
            }
            int end = Math.min(length, start + chunk);
            Batch.Builder b = Batch.builder();
            int rows = 0;
            for (int j = 0; j < n; j++) {
                for (int i = start; i < end; i++) {
                    b.add(context[i], i, firstSequence + j, true);
                }
            }
            session.decode(b.build());
            int withTarget = Math.max(0, Math.min(end, targets) - start);
            int[] idx = new int[withTarget * n];
            int[] tgt = new int[withTarget * n];
            for (int j = 0; j < n; j++) {
                for (int i = 0; i < withTarget; i++) {
                    idx[rows] = j * (end - start) + i;
                    tgt[rows++] = context[start + i + 1];
                }
            }
            if (withTarget > 0) {
                float[] nll = session.nll(idx, tgt);
                for (int r = 0; r < nll.length; r++) {
                    sums[r / withTarget] += nll[r];
                }
            }
        }
        float[] means = new float[n];
        for (int j = 0; j < n; j++) {
            means[j] = targets == 0 ? Float.NaN : (float) (sums[j] / targets);
        }
        return means;
    }
}
