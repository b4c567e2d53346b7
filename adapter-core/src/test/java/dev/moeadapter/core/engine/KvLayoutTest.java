package dev.moeadapter.core.engine;

import dev.moeadapter.core.ContextFullException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** A KV stream per sequence, through llama.cpp: each sequence's share, and copies between streams. */
class KvLayoutTest {
    private static Session open(Model m, KvLayout layout) {
        return m.newSession(new SessionParams(1024, 64, 4, 1, 1).withKvLayout(layout));
    }

    @Test
    void aStreamPerSequenceHoldsItsShareAndASequenceThatOutgrowsItIsAFullContext() {
        Model m = TestModels.olmoe();
        try (Session unified = open(m, KvLayout.UNIFIED); Session split = open(m, KvLayout.PER_SEQUENCE)) {
            assertThat(unified.sequenceContextSize()).isEqualTo(unified.contextSize()).isEqualTo(1024);
            assertThat(split.contextSize()).isEqualTo(1024);
            assertThat(split.sequenceContextSize()).isEqualTo(256);
            int[] chunk = new int[64];
            Arrays.fill(chunk, m.tokenize("a")[0]);
            for (int start = 0; start < 256; start += 64) {
                split.decode(Batch.noOutputs(1, start, chunk));
                unified.decode(Batch.noOutputs(1, start, chunk));
            }
            assertThatThrownBy(() -> split.decode(Batch.of(1, 256, chunk[0]))).isInstanceOf(ContextFullException.class);
            unified.decode(Batch.of(1, 256, chunk[0])); // the shared cache still has room
            split.decode(Batch.of(2, 0, chunk[0]));     // the other streams too
            assertThat(split.maxPosition(1)).as("the refused row left nothing behind").isEqualTo(255);
        }
    }

    @Test
    void aCopyFillsAnEmptySequenceWithTheSourcesCellsOfItsRangeOnly() {
        Model m = TestModels.olmoe();
        int[] toks = m.tokenize("Once upon a time there was a fox");
        int k = toks.length - 1;
        try (Session s = open(m, KvLayout.PER_SEQUENCE)) {
            s.decode(Batch.of(0, 0, toks));
            float[] expected = s.logits(k);
            int expectedToken = s.argmax(k);
            s.decode(Batch.of(1, 0, toks[0]));
            assertThatThrownBy(() -> s.copySequence(0, 1, 0, k)).isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("empty target");
            s.copySequence(0, 2, 0, k);
            s.copySequence(0, 3, 2, k);
            assertThat(s.maxPosition(2)).isEqualTo(k - 1);
            assertThat(s.maxPosition(0)).as("the source keeps its cells").isEqualTo(k);
            s.decode(Batch.of(2, k, toks[k]));
            float[] copied = s.logits(0);
            assertThat(s.argmax(0)).isEqualTo(expectedToken);
            for (int i = 0; i < expected.length; i += 97) {
                assertThat(copied[i]).isCloseTo(expected[i], within(1e-3f * Math.max(1f, Math.abs(expected[i]))));
            }
            assertThatThrownBy(() -> s.decode(Batch.of(3, 0, toks[0]))).as("positions 2.. only: 0 and 1 were cut")
                    .isInstanceOf(InvalidRequestException.class);
        }
    }
}
