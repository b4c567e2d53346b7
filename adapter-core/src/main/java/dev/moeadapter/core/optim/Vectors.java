package dev.moeadapter.core.optim;

import dev.moeadapter.core.InvalidRequestException;

/** Argument checks shared by the optimisers, and the cosine and norm their steps and gradient estimates are compared by. */
public final class Vectors {
    private Vectors() {
    }

    static float[] checkedCopy(float[] v, String what) {
        if (v == null) {
            throw new InvalidRequestException(what + " must not be null");
        }
        checkFinite(v, what);
        return v.clone();
    }

    static void checkFinite(float[] v, String what) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw new InvalidRequestException(what + "[" + i + "] is not finite: " + v[i]);
            }
        }
    }

    static void checkLength(float[] v, int expected, String what) {
        if (v == null) {
            throw new InvalidRequestException(what + " must not be null");
        }
        if (v.length != expected) {
            throw new InvalidRequestException(what + " has length " + v.length + ", expected " + expected);
        }
    }

    /** Cosine of the angle between two vectors (raw, not centred); 0 when either is all zeros. */
    public static double cosine(double[] a, double[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }
        return aa == 0 || bb == 0 ? 0 : ab / Math.sqrt(aa * bb);
    }

    /** Euclidean norm. */
    public static double norm(double[] v) {
        double sum = 0;
        for (double x : v) {
            sum += x * x;
        }
        return Math.sqrt(sum);
    }

    /** {@link #cosine(double[], double[])} of float vectors, accumulated in double. */
    public static double cosine(float[] a, float[] b) {
        double[] x = new double[a.length], y = new double[b.length];
        for (int i = 0; i < x.length; i++) x[i] = a[i];
        for (int i = 0; i < y.length; i++) y[i] = b[i];
        return cosine(x, y);
    }
}
