package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Sampler;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.DecodingScheme;
import dev.moeadapter.core.engine.DecodeLane;

/**
 * Plain decoding of a sequence that already holds the prompt except its last token: the prefix's
 * KV cache is unaffected by a pathway injected from the last prompt token on, so only that token is
 * decoded, under the sequence's routing plan.
 */
final class PrefixedDecoding implements DecodingScheme {
    private final DecodeLane session;
    private final int sequence;

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
    }

    @Override
    public int next(Sampler sampler) {
        return sampler == null ? session.argmax(0) : session.sample(sampler, 0);
    }

    @Override
    public void append(int token, int position) {
        session.decode(Batch.of(sequence, position, token));
    }
}
