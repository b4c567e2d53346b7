package dev.moeadapter.core.engine;

/**
 * One token's step of a decoding scheme, which a lane may run by itself: the rows a chosen token
 * makes at a position, and the choice of the next token from their outputs. A decode loop picks in
 * its own thread right after the step and may queue the pick's rows for the next step before the
 * scheme asks (see {@link DecodeLane#decodeAndPick}): a pick may therefore come after its scheme
 * stopped, and a sampler refuses it then ({@link Sampler}).
 */
public interface TokenStep {
    /** The rows that decode {@code token} at {@code position}; their outputs are what {@link #pick} reads. */
    Batch rows(int token, int position);

    /** The next token, from the outputs of {@link #rows}. */
    int pick(DecodeOutputs outputs);
}
