package dev.moeadapter.core.generation;

import dev.moeadapter.core.engine.Sampler;

/**
 * How a {@link Generator} turns a prompt into tokens, one step at a time: plain decoding of one
 * sequence ({@link PlainDecoding}), or a method's own scheme (SCMoE decodes a strong and a weak view
 * side by side). The generator owns stop rules, streaming and cancellation.
 */
public interface DecodingScheme {
    /** Resets this scheme's sequences and decodes the prompt. */
    void prefill(int[] prompt, CancellationToken cancel);

    /** Chooses the next token from the last decode: greedy when {@code sampler} is null. */
    int next(Sampler sampler);

    /**
     * Decodes a chosen token at position {@code position}.
     *
     * @param last whether the token chosen next from this decode is the last one the generator asks for
     */
    void append(int token, int position, boolean last);
}
