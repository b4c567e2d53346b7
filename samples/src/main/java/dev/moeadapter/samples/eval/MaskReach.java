package dev.moeadapter.samples.eval;

import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.routing.RoutingPlan;

import java.util.Arrays;

/**
 * Whether SCMoE's contrast can produce an item's gold answer at all: SCMoE only picks among the
 * tokens with p_strong ≥ α·max p_strong (its α-mask), so where a gold token lies outside the mask
 * under the model's own routing no β can produce it. Checked under teacher forcing: the gold answer
 * after the prompt, on sequence 0, without edits.
 */
final class MaskReach {
    private MaskReach() {
    }

    /** Whether every token of {@code gold} (as it tokenizes after the prompt) lies inside the α-mask at its position. */
    static boolean goldInsideMask(Model model, Session session, String prompt, String gold, float alpha) {
        int[] p = model.tokenize(prompt);
        int[] all = model.tokenize(prompt + gold);
        int answer = all.length - p.length;
        if (answer <= 0 || !Arrays.equals(p, Arrays.copyOf(all, p.length))) {
            return false; // the gold text does not extend the prompt's tokens: it cannot be checked token by token
        }
        session.clearSequence(0);
        session.setPlan(0, RoutingPlan.EMPTY);
        int[] input = Arrays.copyOf(all, all.length - 1);
        for (int start = 0; start < input.length; start += session.batchSize()) {
            int end = Math.min(input.length, start + session.batchSize());
            session.decode(Batch.allOutputs(0, start, Arrays.copyOfRange(input, start, end)));
            for (int pos = Math.max(start, p.length - 1); pos < end; pos++) {
                float[] logits = session.logits(pos - start);
                float max = Float.NEGATIVE_INFINITY;
                for (float x : logits) {
                    max = Math.max(max, x);
                }
                if (logits[all[pos + 1]] < max + Math.log(alpha)) {
                    session.clearSequence(0);
                    return false;
                }
            }
        }
        session.clearSequence(0);
        return true;
    }
}
