package dev.moeadapter.c3po;

import java.nio.charset.StandardCharsets;

/**
 * An embedder that needs no model: signed feature hashing of the prompt's character trigrams
 * (the text padded with one space each side) into {@link #DIMENSION} buckets, with sublinear term
 * frequency 1 + log(count). Deterministic (FNV-1a over the trigram's UTF-8 bytes; the sign from
 * the hash's top bit, so that collisions cancel on average instead of piling up). Neighbours by
 * this embedder share surface form: tags, demonstrations, wording.
 */
public final class CharNgramEmbedder implements Embedder {
    public static final String ID = "char-3gram-hash-1024";
    public static final int DIMENSION = 1024;
    private static final int N = 3;
    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    @Override
    public String id() {
        return ID;
    }

    @Override
    public boolean usesHiddenState() {
        return false;
    }

    @Override
    public float[] embed(String prompt, float[] meanHiddenState) {
        int[] cps = (" " + prompt + " ").codePoints().toArray();
        double[] counts = new double[DIMENSION];
        for (int i = 0; i + N <= cps.length; i++) {
            long h = hash(new String(cps, i, N).getBytes(StandardCharsets.UTF_8));
            counts[(int) Long.remainderUnsigned(h, DIMENSION)] += h < 0 ? -1 : 1;
        }
        float[] v = new float[DIMENSION];
        for (int j = 0; j < DIMENSION; j++) {
            double c = counts[j];
            v[j] = c == 0 ? 0 : (float) (Math.signum(c) * (1 + Math.log(Math.abs(c))));
        }
        return v;
    }

    private static long hash(byte[] bytes) {
        long h = FNV_OFFSET;
        for (byte b : bytes) {
            h ^= b & 0xff;
            h *= FNV_PRIME;
        }
        return h;
    }
}
