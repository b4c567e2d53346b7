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
        int[] best = new int[k];
        float[] bestSim = new float[k];
        Arrays.fill(bestSim, Float.NEGATIVE_INFINITY);
        int found = 0;
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
            if (found < k || s > bestSim[found - 1]) {
                int at = Math.min(found, k - 1);
                while (at > 0 && bestSim[at - 1] < s) {
                    bestSim[at] = bestSim[at - 1];
                    best[at] = best[at - 1];
                    at--;
                }
                bestSim[at] = s;
                best[at] = i;
                found = Math.min(k, found + 1);
            }
        }
        List<Neighbour> out = new ArrayList<>(found);
        for (int j = 0; j < found; j++) {
            out.add(new Neighbour(best[j], set.id(best[j]), bestSim[j], Math.exp(-(1 - bestSim[j]) / (bandwidth * bandwidth))));
        }
        return new Result(out, Arrays.copyOf(duplicates, nDup));
    }
}
