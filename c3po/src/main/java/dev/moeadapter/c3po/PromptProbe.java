package dev.moeadapter.c3po;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TraceSpec;

import java.util.Arrays;
import java.util.List;

/**
 * One plain pass over a prompt on one sequence: the model's own pathway at the last prompt token
 * (router probabilities of every MoE layer) and, if asked, the mean final hidden state over the
 * prompt's tokens. The sequence then holds the whole prompt. Drains the session's router trace.
 */
public final class PromptProbe {
    /**
     * Chunk size while hidden states are read: embeddings mode outputs logits for every token, and
     * llama.cpp keeps an output buffer of vocabulary × chunk floats per session.
     */
    private static final int HIDDEN_STATE_CHUNK = 128;

    /** @param meanHiddenState null unless asked for; @param pathway MoE layers × experts */
    public record Result(float[] meanHiddenState, float[] pathway) {
    }

    private PromptProbe() {}

    public static Result run(DecodeLane session, int sequence, int[] prompt, boolean hiddenState, CancellationToken cancel) {
        List<Integer> moeLayers = session.model().info().moeLayers();
        int experts = session.model().info().experts();
        int last = prompt.length - 1;
        session.clearSequence(sequence);
        session.setPlan(sequence, RoutingPlan.EMPTY);
        session.setTrace(sequence, new TraceSpec(false, PositionRange.at(last)));
        double[] sum = hiddenState ? new double[session.model().info().embeddingSize()] : null;
        int chunk = hiddenState ? Math.min(session.batchSize(), HIDDEN_STATE_CHUNK) : session.batchSize();
        RouterTrace trace;
        try {
            session.setEmbeddings(hiddenState);
            for (int start = 0; start < prompt.length; start += chunk) {
                if (cancel.isCancelled()) {
                    throw new CancelledException("cancelled while reading the prompt's pathway");
                }
                int end = Math.min(prompt.length, start + chunk);
                session.decode(Batch.of(sequence, start, Arrays.copyOfRange(prompt, start, end)));
                if (hiddenState) {
                    for (int i = 0; i < end - start; i++) {
                        float[] h = session.embedding(i);
                        for (int j = 0; j < h.length; j++) {
                            sum[j] += h[j];
                        }
                    }
                }
            }
        } finally {
            session.setEmbeddings(false);
            session.setTrace(sequence, TraceSpec.OFF);
            trace = session.drainTrace();
        }
        float[] pathway = new float[moeLayers.size() * experts];
        for (int slot = 0; slot < moeLayers.size(); slot++) {
            int layer = moeLayers.get(slot);
            TokenProbabilities p = trace.probabilities(sequence, last, layer)
                    .orElseThrow(() -> new IllegalStateException("no router probabilities traced for layer " + layer));
            System.arraycopy(p.probabilities(), 0, pathway, slot * experts, experts);
        }
        float[] mean = null;
        if (hiddenState) {
            mean = new float[sum.length];
            for (int j = 0; j < sum.length; j++) {
                mean[j] = (float) (sum[j] / prompt.length);
            }
        }
        return new Result(mean, pathway);
    }
}
