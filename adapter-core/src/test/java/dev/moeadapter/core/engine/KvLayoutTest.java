package dev.moeadapter.core.engine;

import dev.moeadapter.core.ContextFullException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static dev.moeadapter.core.engine.LogitsAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * A KV stream per sequence, through llama.cpp: each sequence's share, copies between streams, and
 * outputs read by batch index where llama.cpp decodes the rows in sequence order.
 */
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

    /**
     * A step whose rows are not in sequence order, one of them edited (so the engine hands llama.cpp
     * the rows in sequence order, as one part): each batch index still reads its own row's logits,
     * hidden state and samples, the ones the same row gives decoded on its own.
     */
    @Test
    void aStepWhoseRowsAreOutOfSequenceOrderReadsEachRowsOwnOutputs() {
        Model m = TestModels.olmoe();
        String[] prompts = {"Once upon a time", "The quick brown fox", "abc def ghi"};
        int[] order = {0, 2, 1};
        RoutingPlan weak = RoutingPlan.of(new RouterEdit.KeepRank(m.info().moeLayers().getFirst(), 2, PositionRange.ALL));
        float[][] aloneLogits = new float[3][], aloneHidden = new float[3][];
        int[] next = new int[3];
        try (Session s = open(m, KvLayout.PER_SEQUENCE)) {
            s.setPlan(2, weak);
            s.setEmbeddings(true);
            for (int q = 0; q < 3; q++) {
                int[] toks = m.tokenize(prompts[q]);
                s.decode(Batch.of(q, 0, Arrays.copyOf(toks, toks.length - 1)));
                s.decode(Batch.of(q, toks.length - 1, toks[toks.length - 1]));
                aloneLogits[q] = s.logits(0);
                aloneHidden[q] = s.embedding(0);
                next[q] = s.argmax(0);
                s.removeTokens(q, toks.length - 1, Integer.MAX_VALUE);
            }
            Batch.Builder step = Batch.builder();
            for (int q : order) {
                int[] toks = m.tokenize(prompts[q]);
                step.add(toks[toks.length - 1], toks.length - 1, q, true);
            }
            s.decode(step.build());
            try (Sampler topOne = Sampler.create(m, SamplingParams.temperature(1.0, 7).withTopK(1))) {
                for (int i = 0; i < order.length; i++) {
                    int q = order[i];
                    assertThat(s.argmax(i)).as("row %d (sequence %d)", i, q).isEqualTo(next[q]);
                    assertThat(s.sample(topOne, i)).as("row %d sampled from its top token", i).isEqualTo(next[q]);
                    assertClose(s.logits(i), aloneLogits[q]);
                    assertClose(s.embedding(i), aloneHidden[q]);
                }
            }
        }
    }

    /**
     * A step whose rows fall in several parts (runs of consecutive sequences, a sequence with several
     * rows, a gap, an edited and a traced row) is still one llama.cpp decode, and every row reads the
     * outputs it gives decoded on its own.
     */
    @Test
    void aStepOfSeveralPartsIsOneLlamaDecodeAndEachRowReadsItsOwnOutputs() {
        Model m = TestModels.olmoe();
        String[] prompts = {"Once upon a time", "The quick brown fox jumps", "abc def ghi", "My favourite colour is", "", "xyz uvw rst"};
        int[] stepRows = {1, 3, 1, 1, 0, 1}; // sequence 1 decodes three rows in the step; sequence 4 none
        RoutingPlan weak = RoutingPlan.of(new RouterEdit.KeepRank(m.info().moeLayers().getFirst(), 2, PositionRange.ALL));
        SessionParams params = new SessionParams(6 * 128, 64, 6, 1, 1, FlashAttention.OFF, KvCacheType.F32, KvLayout.PER_SEQUENCE);
        float[][] alone = new float[6][];
        try (Session s = m.newSession(params)) {
            for (int q = 0; q < 6; q++) {
                if (stepRows[q] > 0) {
                    prepare(m, s, q, prompts[q], stepRows[q], weak);
                    int[] toks = m.tokenize(prompts[q]);
                    s.decode(Batch.of(q, toks.length - stepRows[q], Arrays.copyOfRange(toks, toks.length - stepRows[q], toks.length)));
                    alone[q] = s.logits(stepRows[q] - 1);
                }
            }
        }
        try (Session s = m.newSession(params)) {
            Batch.Builder step = Batch.builder();
            for (int q : new int[] {3, 0, 5, 1, 2}) { // not in sequence order either
                prepare(m, s, q, prompts[q], stepRows[q], weak);
                int[] toks = m.tokenize(prompts[q]);
                for (int i = toks.length - stepRows[q]; i < toks.length; i++) {
                    step.add(toks[i], i, q, i == toks.length - 1);
                }
            }
            Batch batch = step.build();
            long before = s.llamaDecodes();
            s.decode(batch);
            assertThat(s.llamaDecodes() - before).as("llama.cpp decodes for the step").isEqualTo(1);
            for (int i = 0; i < batch.size(); i++) {
                if (batch.output(i)) {
                    assertClose(s.logits(i), alone[batch.sequence(i)]);
                }
            }
        }
    }

    /** Sequence q holds its prompt but the last {@code held} tokens; sequence 2 is edited, sequence 3 traced. */
    private static void prepare(Model m, Session s, int q, String prompt, int held, RoutingPlan weak) {
        if (q == 2) {
            s.setPlan(q, weak);
        }
        if (q == 3) {
            s.setTrace(q, TraceSpec.ROUTES);
        }
        int[] toks = m.tokenize(prompt);
        s.decode(Batch.noOutputs(q, 0, Arrays.copyOf(toks, toks.length - held)));
    }
}
