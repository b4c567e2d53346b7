package dev.moeadapter.samples.experts;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;

import java.util.Arrays;
import java.util.List;

/**
 * Profiles which experts two prompt sets reach: reads every prompt once (no generation) with the
 * model's own routing and counts, per MoE layer and expert, the prompt tokens that selected it.
 * Every row requests output, so that a layer cut to output rows (most graphs' last) sees every token too.
 */
public final class ExpertProfiler {
    private final Model model;
    private final Session session;

    /** @param session a session with at least one sequence whose context holds the longest prompt */
    public ExpertProfiler(Model model, Session session) {
        this.model = model;
        this.session = session;
    }

    public ExpertProfile profile(List<String> a, List<String> b) {
        ModelInfo info = model.info();
        if (!info.isMoe()) {
            throw new InvalidRequestException("model '" + info.architecture() + "' has no MoE layers to profile");
        }
        int layers = info.moeLayers().size();
        long[][] countsA = new long[layers][info.experts()], countsB = new long[layers][info.experts()];
        long[] tokensA = new long[layers], tokensB = new long[layers];
        count(a, countsA, tokensA);
        count(b, countsB, tokensB);
        return new ExpertProfile(info.moeLayers(), info.experts(), info.expertsUsed(), countsA, tokensA, countsB, tokensB);
    }

    private void count(List<String> prompts, long[][] counts, long[] tokens) {
        ModelInfo info = model.info();
        for (String prompt : prompts) {
            int[] ids = model.tokenize(prompt, true, false);
            if (ids.length > session.contextSize()) {
                throw new InvalidRequestException("a prompt of " + ids.length + " tokens exceeds the context of " + session.contextSize()
                        + " (--ctx)");
            }
            session.clearSequence(0);
            session.setTrace(0, TraceSpec.ROUTES);
            try {
                for (int start = 0; start < ids.length; start += session.batchSize()) {
                    int end = Math.min(ids.length, start + session.batchSize());
                    session.decode(Batch.allOutputs(0, start, Arrays.copyOfRange(ids, start, end)));
                }
            } finally {
                session.setTrace(0, TraceSpec.OFF);
            }
            for (TokenRoute r : session.drainTrace().routes()) {
                int slot = info.moeLayers().indexOf(r.layer());
                tokens[slot]++;
                for (int e : r.experts()) {
                    if (e >= 0) {
                        counts[slot][e]++;
                    }
                }
            }
        }
        session.clearSequence(0);
    }
}
