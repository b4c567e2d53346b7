package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Sampler;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.DecodingScheme;
import dev.moeadapter.core.generation.SequenceStep;
import dev.moeadapter.core.engine.DecodeLane;

/**
 * Plain decoding of a sequence that already holds the prompt except its last token: the prefix's
 * KV cache is unaffected by a pathway injected from the last prompt token on, so only that token is
 * decoded, under the sequence's routing plan.
 */
final class PrefixedDecoding implements DecodingScheme {
    private final DecodeLane session;
    private final int sequence;
    /** The token the last {@link #append} picked, or -1 when the next one comes from the prefill's row. */
    private int picked = -1;
    private Sampler sampler;

    PrefixedDecoding(DecodeLane session, int sequence) {
        this.session = session;
        this.sequence = sequence;
    }

    @Override
    public void prefill(int[] prompt, CancellationToken cancel) {
        int held = session.maxPosition(sequence) + 1;
        if (held != prompt.length - 1) {
            throw new InvalidRequestException("sequence " + sequence + " holds " + held + " tokens; expected the prompt's first " + (prompt.length - 1));
        }
        session.decode(Batch.of(sequence, prompt.length - 1, prompt[prompt.length - 1]));
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
        return SequenceStep.pick(session, 0, sampler);
    }

    @Override
    public void append(int token, int position, boolean last) {
        picked = session.decodeAndPick(new SequenceStep(sequence, sampler), token, position, last);
    }
}
