package dev.moeadapter.core.testmodels;

import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TraceSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * A greedy answer decoded on sequence 0 of a lane (a session, or a lane of the decode loop) under a plan, with each
 * token's logits and the routes and router probabilities of every row: what the batching tests compare between a
 * request served alone and batched with others.
 */
public record GreedyTrace(int[] tokens, List<float[]> logits, RouterTrace trace) {

    public static GreedyTrace of(DecodeLane lane, int[] prompt, RoutingPlan plan, int tokens) {
        lane.setPlan(0, plan);
        lane.setTrace(0, TraceSpec.routesAndProbabilities(PositionRange.ALL));
        lane.decode(Batch.of(0, 0, prompt));
        int[] out = new int[tokens];
        List<float[]> logits = new ArrayList<>();
        for (int t = 0; t < tokens; t++) {
            int row = t == 0 ? prompt.length - 1 : 0;
            logits.add(lane.logits(row));
            out[t] = lane.argmax(row);
            lane.release();
            if (t + 1 < tokens) {
                lane.decode(Batch.of(0, prompt.length + t, out[t]));
            }
        }
        return new GreedyTrace(out, logits, lane.drainTrace());
    }

    /** The largest difference between this answer's logits and {@code other}'s at any token, relative to this answer's largest magnitude there. */
    public float largestRelativeLogitDifference(GreedyTrace other) {
        float worst = 0;
        for (int t = 0; t < logits.size(); t++) {
            float[] a = logits.get(t), b = other.logits.get(t);
            float scale = 0, diff = 0;
            for (int v = 0; v < a.length; v++) {
                scale = Math.max(scale, Math.abs(a[v]));
                diff = Math.max(diff, Math.abs(a[v] - b[v]));
            }
            worst = Math.max(worst, diff / Math.max(scale, 1e-6f));
        }
        return worst;
    }
}
