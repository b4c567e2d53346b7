package dev.moeadapter.core.generation;

import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.DecodeOutputs;
import dev.moeadapter.core.engine.Sampler;
import dev.moeadapter.core.engine.TokenStep;

/** A token of one sequence, the next token chosen from its row: greedy when {@code sampler} is null. */
public record SequenceStep(int sequence, Sampler sampler) implements TokenStep {
    @Override
    public Batch rows(int token, int position) {
        return Batch.of(sequence, position, token);
    }

    @Override
    public int pick(DecodeOutputs outputs) {
        return pick(outputs, 0, sampler);
    }

    /** The next token from output row {@code row}. */
    public static int pick(DecodeOutputs outputs, int row, Sampler sampler) {
        return sampler == null ? outputs.argmax(row) : outputs.sample(sampler, row);
    }
}
