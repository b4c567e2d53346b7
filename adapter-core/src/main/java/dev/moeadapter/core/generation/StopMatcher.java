package dev.moeadapter.core.generation;

import java.util.List;

/**
 * Finds stop strings in generated text and says how much text is safe to stream: everything except
 * a tail that could still grow into a stop string.
 */
final class StopMatcher {
    private final List<String> stops;

    StopMatcher(List<String> stops) {
        this.stops = stops;
    }

    /** Index of the earliest stop string in {@code text} at or after {@code from}, or −1. */
    int find(CharSequence text, int from) {
        int best = -1;
        String s = text.toString();
        for (String stop : stops) {
            int i = s.indexOf(stop, Math.max(0, from - stop.length() + 1));
            if (i >= 0 && (best < 0 || i < best)) {
                best = i;
            }
        }
        return best;
    }

    /** Length of the prefix of {@code text} that no stop string can still claim. */
    int safeLength(CharSequence text) {
        int hold = 0;
        for (String stop : stops) {
            for (int k = Math.min(stop.length() - 1, text.length()); k > hold; k--) {
                if (endsWith(text, stop, k)) {
                    hold = k;
                    break;
                }
            }
        }
        return text.length() - hold;
    }

    private static boolean endsWith(CharSequence text, String stop, int k) {
        int off = text.length() - k;
        for (int i = 0; i < k; i++) {
            if (text.charAt(off + i) != stop.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
