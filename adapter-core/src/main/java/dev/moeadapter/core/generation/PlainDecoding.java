package dev.moeadapter.core.generation;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Sampler;
import dev.moeadapter.core.engine.DecodeLane;

import java.util.Arrays;

/** Ordinary decoding of one sequence, with whatever routing plan that sequence has. */
public final class PlainDecoding implements DecodingScheme {
    private final DecodeLane session;
    private final int sequence;
    private int last;
    /** The token the last {@link #append} picked, or -1 when the next one comes from row {@code last}. */
    private int picked = -1;
    private Sampler sampler;

    public PlainDecoding(DecodeLane session, int sequence) {
        if (sequence < 0 || sequence >= session.sequences()) {
            throw new InvalidRequestException("sequence " + sequence + " out of range 0.." + (session.sequences() - 1));
        }
        this.session = session;
        this.sequence = sequence;
    }

    @Override
    public void prefill(int[] prompt, CancellationToken cancel) {
        session.clearSequence(sequence);
        int size = session.batchSize();
        for (int start = 0; start < prompt.length; start += size) {
            if (cancel.isCancelled()) {
                throw new CancelledException("cancelled during prefill");
            }
            int end = Math.min(prompt.length, start + size);
            int[] chunk = Arrays.copyOfRange(prompt, start, end);
            session.decode(end < prompt.length ? Batch.noOutputs(sequence, start, chunk) : Batch.of(sequence, start, chunk));
            last = end - start - 1;
        }
        picked = -1;
    }

    @Override
    public int next(Sampler sampler) {
        this.sampler = sampler;
        if (picked >= 0) {
            int token = picked;
            picked = -1;
            return token;
        }
        return SequenceStep.pick(session, last, sampler);
    }

    @Override
    public void append(int token, int position, boolean last) {
        picked = session.decodeAndPick(new SequenceStep(sequence, sampler), token, position, last);
    }
}
