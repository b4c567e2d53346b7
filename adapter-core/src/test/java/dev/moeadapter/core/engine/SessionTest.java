package dev.moeadapter.core.engine;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class SessionTest {
    private static Session open(Model m, int sequences) {
        return m.newSession(new SessionParams(512, 64, sequences, 1, 1));
    }

    @Test
    void nativeNllEqualsJavaLogSoftmax() {
        Model m = TestModels.olmoe();
        int[] toks = m.tokenize("count to ten: 1 2 3");
        try (Session s = open(m, 1)) {
            s.decode(Batch.allOutputs(0, 0, toks));
            int n = toks.length - 1;
            int[] idx = new int[n], targets = new int[n];
            for (int i = 0; i < n; i++) {
                idx[i] = i;
                targets[i] = toks[i + 1];
            }
            float[] nll = s.nll(idx, targets);
            for (int i = 0; i < n; i++) {
                float[] row = s.logits(i);
                double max = Double.NEGATIVE_INFINITY;
                for (float v : row) {
                    max = Math.max(max, v);
                }
                double sum = 0;
                for (float v : row) {
                    sum += Math.exp(v - max);
                }
                double expected = Math.log(sum) + max - row[targets[i]];
                assertThat((double) nll[i]).isCloseTo(expected, within(1e-4 * Math.max(1, expected)));
            }
        }
    }

    @Test
    void embeddingsModeGivesTheFinalHiddenStateOfEveryTokenAndKeepsTheLogits() {
        Model m = TestModels.olmoe();
        int[] toks = m.tokenize("the hidden state");
        int e = m.info().embeddingSize();
        float[] head = RandomModels.outputWeights(RandomModels.Spec.olmoe());
        try (Session s = open(m, 1)) {
            s.decode(Batch.of(0, 0, toks));
            float[] plainLast = s.logits(toks.length - 1);
            assertThatThrownBy(() -> s.embedding(toks.length - 1))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("embeddings mode");

            s.clear();
            s.setEmbeddings(true);
            s.decode(Batch.of(0, 0, toks)); // only the last token asks for output; every token gets one
            s.setEmbeddings(false);
            assertThat(s.logits(toks.length - 1)).containsExactly(plainLast, within(1e-4f));
            for (int i = 0; i < toks.length; i++) {
                float[] h = s.embedding(i);
                float[] z = s.logits(i);
                assertThat(h).hasSize(e);
                for (int t = 0; t < z.length; t += 17) {
                    double dot = 0;
                    for (int j = 0; j < e; j++) {
                        dot += (double) head[t * e + j] * h[j];
                    }
                    assertThat(dot).as("token %d, vocabulary entry %d", i, t).isCloseTo(z[t], within(1e-3));
                }
            }
            assertThat(s.embedding(0)).isNotEqualTo(s.embedding(1));

            s.decode(Batch.of(0, toks.length, toks[1]));
            assertThatThrownBy(() -> s.embedding(0)).isInstanceOf(InvalidRequestException.class);
        }
    }

    @Test
    void argmaxMatchesTheLogits() {
        Model m = TestModels.mixtral();
        try (Session s = open(m, 1)) {
            int[] toks = m.tokenize("abc");
            s.decode(Batch.of(0, 0, toks));
            float[] row = s.logits(toks.length - 1);
            int best = 0;
            for (int i = 1; i < row.length; i++) {
                if (row[i] > row[best]) {
                    best = i;
                }
            }
            assertThat(s.argmax(toks.length - 1)).isEqualTo(best);
        }
    }

    @Test
    void removingAndRedecodingTheTailReproducesLogits() {
        Model m = TestModels.olmoe();
        int[] toks = m.tokenize("stable tail");
        try (Session s = open(m, 1)) {
            s.decode(Batch.of(0, 0, toks));
            float[] first = s.logits(toks.length - 1);
            assertThat(s.maxPosition(0)).isEqualTo(toks.length - 1);
            s.removeTokens(0, 4, Integer.MAX_VALUE);
            assertThat(s.maxPosition(0)).isEqualTo(3);
            s.decode(Batch.of(0, 4, Arrays.copyOfRange(toks, 4, toks.length)));
            assertThat(s.logits(toks.length - 5)).isEqualTo(first);
            s.clear();
            assertThat(s.maxPosition(0)).isEqualTo(-1);
        }
    }

    @Test
    void copiedSequenceContinuesLikeTheOriginal() {
        Model m = TestModels.olmoe();
        int[] prefix = m.tokenize("shared prefix");
        int next = prefix[3];
        try (Session s = open(m, 2)) {
            s.decode(Batch.of(0, 0, prefix));
            s.copySequence(0, 1, 0, Integer.MAX_VALUE);
            assertThat(s.maxPosition(1)).isEqualTo(prefix.length - 1);
            Batch.Builder b = Batch.builder().add(next, prefix.length, 0, true).add(next, prefix.length, 1, true);
            s.decode(b.build());
            assertThat(s.logits(1)).isEqualTo(s.logits(0));
        }
    }

    @Test
    void anAbortedDecodeFailsCleanlyAndLeavesTheCacheAsItWas() {
        Model m = TestModels.olmoe();
        int[] toks = m.tokenize("abort me please");
        ch.qos.logback.classic.Logger llama = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("dev.moeadapter.core.llama");
        var logged = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
        logged.start();
        llama.addAppender(logged);
        try (Session s = open(m, 1)) {
            s.decode(Batch.of(0, 0, 5, 6));
            s.abortDecode(); // applies to the decode in flight, or else the next one
            assertThatThrownBy(() -> s.decode(Batch.of(0, 2, toks))).isInstanceOf(CancelledException.class);
            assertThat(logged.list).as("llama.cpp's errors on the way out of an abort we asked for are expected: not errors")
                    .noneMatch(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.WARN));
            assertThat(s.maxPosition(0)).isEqualTo(1);
            s.decode(Batch.of(0, 2, toks));
            assertThat(s.maxPosition(0)).isEqualTo(1 + toks.length);
        } finally {
            llama.detachAppender(logged);
        }
    }

    @Test
    void sessionsShareOneModel() {
        Model m = TestModels.olmoe();
        int[] toks = m.tokenize("same");
        try (Session a = open(m, 1); Session b = open(m, 3)) {
            a.decode(Batch.of(0, 0, toks));
            b.decode(Batch.of(2, 0, toks));
            assertThat(b.logits(toks.length - 1)).isEqualTo(a.logits(toks.length - 1));
        }
    }
}
