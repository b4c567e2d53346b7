package dev.moeadapter.core.optim;

import dev.moeadapter.core.InvalidRequestException;

/** Argument checks shared by the optimisers. */
final class Vectors {
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
}
