package dev.moeadapter.c3po;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class NeighbourSearchTest {
    private static final String SHA = "12".repeat(32);

    @TempDir
    Path dir;

    /** Random references plus planted ones at known cosines to a query direction. */
    private ReferenceSet synthetic(int n, int dim, float[] query, double... planted) {
        SplittableRandom r = new SplittableRandom(3);
        List<ReferenceItem> items = new ArrayList<>(n);
        int[] prompt = {1, 2, 3};
        int[] answer = {4};
        float[] pathway = new float[8];
        for (int i = 0; i < n; i++) {
            float[] e = new float[dim];
            if (i < planted.length) {
                // cos(e, query) = planted[i]: e = c·q + sqrt(1−c²)·u with u ⟂ q (q is the first axis)
                e[0] = (float) planted[i];
                e[1 + i] = (float) Math.sqrt(1 - planted[i] * planted[i]);
            } else {
                for (int j = 0; j < dim; j++) {
                    e[j] = (float) (r.nextDouble() - 0.5) * 0.2f;
                }
            }
            items.add(new ReferenceItem("r" + i, e, pathway, prompt, answer));
        }
        Path file = dir.resolve("synthetic-" + n + ".c3po");
        ReferenceSet.write(file, new ReferenceSet.Header(SHA, "synthetic", List.of(0, 1), 4), items);
        query[0] = 1;
        return ReferenceSet.load(file, SHA);
    }

    @Test
    void findsTheNearestAndLeavesOutNearDuplicates() {
        float[] q = new float[32];
        try (ReferenceSet set = synthetic(500, 32, q, 0.99, 0.9, 0.8, 0.7)) {
            // the set is centred on its mean, so compare with the planted order rather than exact cosines
            NeighbourSearch.Result r = NeighbourSearch.nearest(set, set.normalise(q), 3, 0.95, 0.5);
            assertThat(r.duplicates()).containsExactly(0);
            assertThat(r.nearest()).extracting(Neighbour::index).containsExactly(1, 2, 3);
            assertThat(r.nearest()).extracting(Neighbour::id).containsExactly("r1", "r2", "r3");
            for (Neighbour nb : r.nearest()) {
                assertThat(nb.weight()).isCloseTo(Math.exp(-(1 - nb.similarity()) / 0.25), within(1e-9));
            }
            assertThat(r.nearest().get(0).weight()).isGreaterThan(r.nearest().get(2).weight());
            assertThat(NeighbourSearch.nearest(set, set.normalise(q), 3, 1.0, 0.5).nearest()).extracting(Neighbour::index)
                    .containsExactly(0, 1, 2);
        }
    }

    /**
     * Prints the brute-force search time over 100 000 references (a measurement, not a timed
     * assertion). Embedding dimensions: 384 (a sentence encoder) unless {@code -Dc3po.search.dims=384,2048}
     * asks for more (2048 is OLMoE's hidden size; writing that set takes half a minute).
     */
    @Test
    void searchTimeOnAHundredThousandReferences() {
        for (String d : System.getProperty("c3po.search.dims", "384").split(",")) {
            int dim = Integer.parseInt(d.strip());
            float[] q = new float[dim];
            try (ReferenceSet set = synthetic(100_000, dim, q, 0.9)) {
                float[] unit = set.normalise(q);
                for (int warm = 0; warm < 3; warm++) {
                    NeighbourSearch.nearest(set, unit, 3, 0.95, 0.5);
                }
                int runs = 10;
                long t0 = System.nanoTime();
                NeighbourSearch.Result r = null;
                for (int i = 0; i < runs; i++) {
                    r = NeighbourSearch.nearest(set, unit, 3, 0.95, 0.5);
                }
                double ms = (System.nanoTime() - t0) / 1e6 / runs;
                System.out.printf(Locale.ROOT, "c3po neighbour search: 100000 references x %d dims, k=3: %.1f ms per query (%.2f GB/s)%n",
                        dim, ms, 100_000.0 * dim * 4 / (ms / 1e3) / 1e9);
                assertThat(r.nearest().getFirst().index()).isZero();
            }
        }
    }
}
