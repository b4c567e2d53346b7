package dev.moeadapter.c3po;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Brute-force k nearest references by cosine over the set's contiguous unit embeddings, leaving out
 * near-duplicates of the prompt (which would otherwise answer for it), with Gaussian kernel weights
 * K = exp(−‖a−b‖²/(2h²)) = exp(−(1−cos)/h²) for unit vectors.
 */
final class NeighbourSearch {
    /** @param duplicates references left out as near-duplicates of the prompt */
    record Result(List<Neighbour> nearest, int[] duplicates) {
    }

    private NeighbourSearch() {}

    static Result nearest(ReferenceSet set, float[] unitQuery, int k, double duplicateSimilarity, double bandwidth) {
        BestK best = new BestK(k);
        int[] duplicates = new int[4];
        int nDup = 0;
        for (int i = 0, n = set.size(); i < n; i++) {
            float s = set.similarity(i, unitQuery);
            if (s > duplicateSimilarity) {
                if (nDup == duplicates.length) {
                    duplicates = Arrays.copyOf(duplicates, nDup * 2);
                }
                duplicates[nDup++] = i;
                continue;
            }
            best.offer(i, s);
        }
        List<Neighbour> out = new ArrayList<>(best.size());
        for (int j = 0; j < best.size(); j++) {
            float sim = (float) best.score(j);
            out.add(new Neighbour(best.index(j), set.id(best.index(j)), sim, Math.exp(-(1 - sim) / (bandwidth * bandwidth))));
        }
        return new Result(out, Arrays.copyOf(duplicates, nDup));
    }
}
