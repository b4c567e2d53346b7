package dev.moeadapter.core.engine;

import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TraceSpec;

/**
 * What an adaptation decodes through: rows in (tokens of its own sequences {@code 0..sequences()-1},
 * each sequence under its routing plan), logits, native NLL, samples, hidden states and router
 * traces out, and KV operations on its own sequences. Nothing in it names a llama.cpp context, so a
 * method works unchanged whether a {@link Session} it holds backs the lane (one request per context)
 * or a decode loop shared by many requests does. Calls refer to the lane's last decode: batch
 * indices are those of the batch that decode was given. Bad arguments are an
 * {@link dev.moeadapter.core.InvalidRequestException}; a full context a
 * {@link dev.moeadapter.core.ContextFullException}.
 */
public interface DecodeLane extends DecodeOutputs {
    Model model();

    /** KV cells of the lane, shared by its sequences. */
    int contextSize();

    /** Most KV cells one sequence of the lane can fill: all of the lane's, unless each sequence has a stream of its own. */
    default int sequenceContextSize() {
        return contextSize();
    }

    /** Most tokens one {@link #decode} takes. */
    int batchSize();

    /** The lane's sequences: ids 0..sequences()-1. */
    int sequences();

    /** Decodes the batch with each sequence's routing plan; positions continue each sequence's KV cache. */
    void decode(Batch batch);

    /**
     * Decodes {@code step}'s rows for {@code token} at {@code position} and returns the next token it
     * picks from them; those outputs are not read again. A lane shared with other requests may pick
     * in its own loop and, where the step allows, decode the pick's rows before it is asked to: at
     * most one token ahead of its caller, taken back if the caller does anything else with the lane.
     *
     * @param last whether the pick is the last token the caller wants: nothing is decoded ahead of it
     */
    default int decodeAndPick(TokenStep step, int token, int position, boolean last) {
        decode(step.rows(token, position));
        return step.pick(this);
    }

    /** Whether decodes also output each row's final hidden state. */
    void setEmbeddings(boolean on);

    float[] embedding(int batchIndex);

    /** Negative log-likelihood of {@code targets[i]} at output row {@code batchIndices[i]}, computed natively. */
    float[] nll(int[] batchIndices, int[] targets);

    /** The highest position a sequence holds, or -1 when it is empty. */
    int maxPosition(int sequence);

    void removeTokens(int sequence, int from, int to);

    void clearSequence(int sequence);

    void copySequence(int source, int target, int from, int to);

    void setPlan(int sequence, RoutingPlan plan);

    void clearPlan(int sequence);

    void setTrace(int sequence, TraceSpec spec);

    RouterTrace drainTrace();

    /** Stops the decode in flight (or the next one); safe from any thread. */
    void abortDecode();

    /** Withdraws an {@link #abortDecode()} that found no decode in flight. */
    void clearAbort();

    /**
     * Says that the outputs of the last decode will not be read again (the next token is chosen):
     * a lane shared with other requests may then decode theirs. Reading them afterwards is an error;
     * the next {@link #decode} releases them too. A session's lane keeps them.
     */
    default void release() {
    }
}
