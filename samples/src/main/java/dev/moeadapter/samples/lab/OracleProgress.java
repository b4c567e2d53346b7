package dev.moeadapter.samples.lab;

import java.util.Map;

/**
 * The per-item router oracle's saved progress on one split ({@code DIR/oracle-SPLIT.json}): its
 * settings, the base's answers, and per attempt (0 from zero, then restarts) the outcome of every
 * item it tried. Written by the oracle ceiling (lab profile), read by {@link LabCheck}.
 */
record OracleProgress(String model, String modelSha256, String split, int steps, float lr, Map<String, Boolean> base,
                      Map<Integer, Map<String, Boolean>> attempts) {

    /** Whether this progress was measured on the model file with {@code sha256} (a retrained model keeps its name). */
    boolean of(String sha256) {
        return sha256.equals(modelSha256);
    }

    /** Whether the base or one of the attempts before {@code attempt} answered the item. */
    boolean reached(String id, int attempt) {
        if (base.getOrDefault(id, false)) return true;
        for (int r = 0; r < attempt; r++) {
            if (attempts.getOrDefault(r, Map.of()).getOrDefault(id, false)) return true;
        }
        return false;
    }

    /** Whether the base or any attempt answered the item. */
    boolean reached(String id) {
        return reached(id, attempts.size());
    }
}
