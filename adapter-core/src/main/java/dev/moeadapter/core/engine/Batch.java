package dev.moeadapter.core.engine;

import dev.moeadapter.core.InvalidRequestException;

import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * Tokens of one decode: token i belongs to sequence {@code sequences[i]} at position
 * {@code positions[i]}; {@code outputs[i]} asks for its logits. A batch may mix sequences.
 */
public record Batch(int[] tokens, int[] positions, int[] sequences, boolean[] outputs) {
    public Batch {
        tokens = tokens.clone();
        positions = positions.clone();
        sequences = sequences.clone();
        outputs = outputs.clone();
        if (tokens.length == 0) {
            throw new InvalidRequestException("a batch needs at least one token");
        }
        if (positions.length != tokens.length || sequences.length != tokens.length || outputs.length != tokens.length) {
            throw new InvalidRequestException("batch arrays differ in length");
        }
    }

    /** Tokens of one sequence at consecutive positions from {@code start}; only the last outputs. */
    public static Batch of(int sequence, int start, int... tokens) {
        return span(sequence, start, tokens, i -> i == tokens.length - 1);
    }

    /** Like {@link #of} but no token outputs logits (a prompt's chunk before its last). */
    public static Batch noOutputs(int sequence, int start, int... tokens) {
        return span(sequence, start, tokens, i -> false);
    }

    /** Like {@link #of} but every token outputs logits (for losses over a whole span). */
    public static Batch allOutputs(int sequence, int start, int... tokens) {
        return span(sequence, start, tokens, i -> true);
    }

    private static Batch span(int sequence, int start, int[] tokens, IntPredicate outputs) {
        Builder b = builder();
        for (int i = 0; i < tokens.length; i++) {
            b.add(tokens[i], start + i, sequence, outputs.test(i));
        }
        return b.build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public int size() {
        return tokens.length;
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    @Override
    public int[] positions() {
        return positions.clone();
    }

    @Override
    public int[] sequences() {
        return sequences.clone();
    }

    @Override
    public boolean[] outputs() {
        return outputs.clone();
    }

    public int token(int i) {
        return tokens[i];
    }

    public int position(int i) {
        return positions[i];
    }

    public int sequence(int i) {
        return sequences[i];
    }

    public boolean output(int i) {
        return outputs[i];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Batch b && Arrays.equals(tokens, b.tokens) && Arrays.equals(positions, b.positions)
                && Arrays.equals(sequences, b.sequences) && Arrays.equals(outputs, b.outputs);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(tokens) * 31 + Arrays.hashCode(positions);
    }

    @Override
    public String toString() {
        return "Batch[" + tokens.length + " tokens]";
    }

    /** Accumulates tokens for a batch. */
    public static final class Builder {
        private int[] tokens = new int[16], positions = new int[16], sequences = new int[16];
        private boolean[] outputs = new boolean[16];
        private int n;

        public Builder add(int token, int position, int sequence, boolean output) {
            if (n == tokens.length) {
                tokens = Arrays.copyOf(tokens, n * 2);
                positions = Arrays.copyOf(positions, n * 2);
                sequences = Arrays.copyOf(sequences, n * 2);
                outputs = Arrays.copyOf(outputs, n * 2);
            }
            tokens[n] = token;
            positions[n] = position;
            sequences[n] = sequence;
            outputs[n] = output;
            n++;
            return this;
        }

        public int size() {
            return n;
        }

        public Batch build() {
            return new Batch(Arrays.copyOf(tokens, n), Arrays.copyOf(positions, n), Arrays.copyOf(sequences, n), Arrays.copyOf(outputs, n));
        }
    }
}
