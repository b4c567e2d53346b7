package dev.moeadapter.core.engine;

/**
 * One token's step of a decoding scheme, which a lane may run by itself: the rows a chosen token
 * makes at a position, and the choice of the next token from their outputs. A decode loop picks in
 * its own thread right after the step, and with {@link #mayRunAhead()} queues the pick's rows for
 * the next step before the scheme asks (see {@link DecodeLane#decodeAndPick}).
 */
public interface TokenStep {
    /** The rows that decode {@code token} at {@code position}; their outputs are what {@link #pick} reads. */
    Batch rows(int token, int position);

    /** The next token, from the outputs of {@link #rows}. */
    int pick(DecodeOutputs outputs);

    /**
     * Whether a lane may decode the pick's rows before the scheme asks for them: the pick holds nothing
     * its caller frees when it stops (a sampler does), so greedy picks only.
     */
    boolean mayRunAhead();
}
