package dev.moeadapter.core.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * Several sequences decoding the same positions, cut into batches sequence after sequence: each
 * batch holds, for each of its sequences, one run of consecutive positions, as long as the batch
 * allows. Interleaving the sequences instead (a few rows of each per batch) costs far more on a long
 * context: llama.cpp's CPU attention takes its tiled kernel only for 64 or more query rows of one
 * sequence, and decodes fewer row by row over every cell the sequence holds (a SCMoE prefill of 4,000
 * tokens in views of 32 rows a batch took 10 times as long as in runs of 64).
 */
public final class SequenceRuns {
    /** Positions {@code [from, to)} of the {@code index}-th sequence. */
    public record Run(int index, int from, int to) {
        public int size() {
            return to - from;
        }
    }

    private SequenceRuns() {
    }

    /** Positions {@code [from, to)} of sequences {@code 0..sequences-1}, in batches of at most {@code size} rows. */
    public static List<List<Run>> of(int sequences, int from, int to, int size) {
        if (sequences < 0 || from < 0 || to < from || size < 1) {
            throw new IllegalArgumentException(sequences + " sequences over [" + from + ", " + to + ") in batches of " + size);
        }
        List<List<Run>> batches = new ArrayList<>();
        List<Run> batch = new ArrayList<>();
        int room = size;
        for (int j = 0; j < sequences; j++) {
            for (int start = from; start < to; ) {
                int end = Math.min(to, start + room);
                batch.add(new Run(j, start, end));
                room -= end - start;
                start = end;
                if (room == 0) {
                    batches.add(batch);
                    batch = new ArrayList<>();
                    room = size;
                }
            }
        }
        if (!batch.isEmpty()) {
            batches.add(batch);
        }
        return batches;
    }
}
