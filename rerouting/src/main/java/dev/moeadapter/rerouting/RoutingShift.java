package dev.moeadapter.rerouting;

import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingDistance;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TraceSpec;

import java.util.HashMap;
import java.util.Map;

/** How far a plan moves a prompt's routing: what a rerouting round changed, measured on sequence 0 of a lane. */
public final class RoutingShift {
    private RoutingShift() {
    }

    /** Mean total-variation distance between the router distributions of the prompt's tokens under the plan and under none, over every MoE layer. */
    public static double mean(DecodeLane lane, int[] prompt, RoutingPlan plan) {
        Map<Long, float[]> base = new HashMap<>();
        double sum = 0;
        int n = 0;
        for (int pass = 0; pass < 2; pass++) {
            lane.clearSequence(0);
            lane.setPlan(0, pass == 0 ? RoutingPlan.EMPTY : plan);
            lane.setTrace(0, new TraceSpec(false, PositionRange.ALL));
            lane.decode(Batch.of(0, 0, prompt));
            lane.setTrace(0, TraceSpec.OFF);
            RouterTrace t = lane.drainTrace();
            for (TokenProbabilities tp : t.probabilities()) {
                long key = (long) tp.position() << 16 | tp.layer();
                if (pass == 0) {
                    base.put(key, tp.probabilities());
                } else {
                    sum += RoutingDistance.totalVariation(base.get(key), tp.probabilities());
                    n++;
                }
            }
        }
        lane.clearSequence(0);
        lane.clearPlan(0);
        return sum / n;
    }
}
