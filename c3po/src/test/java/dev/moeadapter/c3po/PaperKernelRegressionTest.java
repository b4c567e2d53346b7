package dev.moeadapter.c3po;

import dev.moeadapter.core.optim.Vectors;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The "paper code" kernel regression against expected values computed with numpy by
 * {@code paper-kernel-regression/expected.py} (kept beside this test; {@code python3 expected.py >
 * expected.txt} regenerates them): the released code's arithmetic — top-3 references by cosine,
 * near-duplicates included, raw cosine weights, all experts of the last 5 layers, each row divided
 * by its sum.
 */
class PaperKernelRegressionTest {

    @Test
    void reproducesTheReleasedKernelRegressionToOneInAMillion() throws IOException {
        Fixture f = Fixture.read();
        // the neighbours by raw cosine, as the released code ranks them
        double[] cos = new double[f.embeddings.length];
        for (int i = 0; i < cos.length; i++) {
            cos[i] = Vectors.cosine(f.embeddings[i], f.query);
        }
        BestK best = new BestK(f.k);
        for (int i = 0; i < cos.length; i++) {
            best.offer(i, cos[i]);
        }
        int[] nearest = new int[f.k];
        double[] similarities = new double[f.k];
        List<float[][]> rows = new ArrayList<>();
        for (int j = 0; j < f.k; j++) {
            nearest[j] = best.index(j);
            similarities[j] = best.score(j);
            rows.add(Arrays.copyOfRange(f.pathways[nearest[j]], f.pathways[0].length - f.last, f.pathways[0].length));
        }
        assertThat(nearest).containsExactly(f.neighbours);
        assertThat(similarities).containsExactly(f.similarities, within(1e-9));

        float[][] omega = Algorithm.PaperKernelRegression.combine(rows, similarities);
        assertThat(omega).hasNumberOfRows(f.last);
        for (int l = 0; l < f.last; l++) {
            assertThat(omega[l]).as("layer %d of the last %d", l, f.last).containsExactly(f.expected[l], within(1e-6f));
        }
        // the fixture's neighbours disagree, so the test could fail: ω is none of their rows
        assertThat(omega[0]).isNotEqualTo(rows.getFirst()[0]);
    }

    @Test
    void similaritiesThatDoNotSumToAPositiveNumberGiveNoPathway() {
        float[][] row = {{0.5f, 0.5f}};
        assertThat(Algorithm.PaperKernelRegression.combine(List.of(row, row), new double[] {0.3, -0.3})).isNull();
    }

    /** The inputs and expected values written by expected.py. */
    private record Fixture(int k, int last, float[] query, float[][] embeddings, float[][][] pathways, int[] neighbours,
                           double[] similarities, float[][] expected) {
        static Fixture read() throws IOException {
            String text;
            try (InputStream in = PaperKernelRegressionTest.class.getResourceAsStream("/paper-kernel-regression/expected.txt")) {
                text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            int refs = 0, layers = 0, k = 0, last = 0;
            float[] query = null;
            float[][] embeddings = null, expected = null;
            float[][][] pathways = null;
            int[] neighbours = null;
            double[] similarities = null;
            for (String line : text.split("\n")) {
                String[] w = line.trim().split(" ");
                switch (w[0]) {
                    case "shape" -> {
                        refs = Integer.parseInt(w[1]);
                        layers = Integer.parseInt(w[3]);
                        k = Integer.parseInt(w[5]);
                        last = Integer.parseInt(w[6]);
                        embeddings = new float[refs][];
                        pathways = new float[refs][layers][];
                        expected = new float[last][];
                    }
                    case "query" -> query = floats(w, 1);
                    case "embedding" -> embeddings[Integer.parseInt(w[1])] = floats(w, 2);
                    case "pathway" -> pathways[Integer.parseInt(w[1])][Integer.parseInt(w[2])] = floats(w, 3);
                    case "neighbours" -> neighbours = Arrays.stream(w, 1, w.length).mapToInt(Integer::parseInt).toArray();
                    case "similarities" -> similarities = Arrays.stream(w, 1, w.length).mapToDouble(Double::parseDouble).toArray();
                    case "expected" -> expected[Integer.parseInt(w[1])] = floats(w, 2);
                    default -> throw new IllegalStateException("unexpected line: " + line);
                }
            }
            return new Fixture(k, last, query, embeddings, pathways, neighbours, similarities, expected);
        }

        private static float[] floats(String[] w, int from) {
            float[] out = new float[w.length - from];
            for (int i = 0; i < out.length; i++) {
                out[i] = Float.parseFloat(w[from + i]);
            }
            return out;
        }
    }
}
