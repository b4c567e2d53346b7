package dev.moeadapter.c3po;

/** The k highest-scoring references offered so far, best first; among equal scores the first offered leads. */
final class BestK {
    private final int[] index;
    private final double[] score;
    private int found;

    BestK(int k) {
        index = new int[k];
        score = new double[k];
    }

    void offer(int i, double s) {
        if (found < index.length || s > score[found - 1]) {
            int at = Math.min(found, index.length - 1);
            while (at > 0 && score[at - 1] < s) {
                score[at] = score[at - 1];
                index[at] = index[at - 1];
                at--;
            }
            score[at] = s;
            index[at] = i;
            found = Math.min(index.length, found + 1);
        }
    }

    int size() {
        return found;
    }

    int index(int j) {
        return index[j];
    }

    double score(int j) {
        return score[j];
    }
}
