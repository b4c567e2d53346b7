package dev.moeadapter.serving.routing;

import dev.moeadapter.core.engine.LayerRouting;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TokenRoute;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Collects the routing of one answer's sequence for the client ({@link RoutedExperts}). A strategy
 * may decode a row more than once (rerouting rebuilds its context under new deltas): the latest
 * decode of a row counts until the token it produced is sent, then the row is final. Streamed
 * answers {@link #take()} the rows made final since the last chunk.
 */
public final class RoutingRecorder {
    private final boolean active;
    private final ModelInfo info;
    private final List<Integer> probabilityLayers;
    private final int capacity, width, k, e;
    private final int[] slotOf;
    private final int[] experts;
    private final float[] weights;
    private final float[][] probabilities;
    /** rows seen, rows final, rows handed out */
    private int seen, frozen, taken;

    private RoutingRecorder(ModelInfo info, RoutingTraceRequest request, int capacity) {
        this.active = request != null;
        this.info = info;
        this.probabilityLayers = active ? request.probabilityLayers() : List.of();
        this.capacity = active ? capacity : 0;
        this.k = info.expertsUsed();
        this.e = info.experts();
        this.width = info.moeLayers().size() * k;
        this.slotOf = new int[active ? info.layers() : 0];
        Arrays.fill(slotOf, -1);
        for (int i = 0; active && i < info.moeLayers().size(); i++) {
            slotOf[info.moeLayers().get(i)] = i;
        }
        this.experts = new int[this.capacity * width];
        this.weights = new float[this.capacity * width];
        this.probabilities = new float[probabilityLayers.size()][this.capacity * e];
        reset();
    }

    /** A recorder that records nothing. */
    public static RoutingRecorder none(ModelInfo info) {
        return new RoutingRecorder(info, null, 0);
    }

    /**
     * Bytes of the arrays for {@code rows} rows, with long arithmetic: the service checks this
     * against its limit before {@link #of} allocates them.
     */
    public static long bytes(ModelInfo info, RoutingTraceRequest request, long rows) {
        long perRow = (long) info.moeLayers().size() * info.expertsUsed() * (Integer.BYTES + Float.BYTES)
                + (long) request.probabilityLayers().size() * info.experts() * Float.BYTES;
        return rows * perRow;
    }

    /** A recorder for up to {@code rows} rows; check {@link #bytes} first. */
    public static RoutingRecorder of(ModelInfo info, RoutingTraceRequest request, int rows) {
        return new RoutingRecorder(info, request, rows);
    }

    public boolean active() {
        return active;
    }

    public boolean wantsProbabilities() {
        return !probabilityLayers.isEmpty();
    }

    /** Forgets everything: a new attempt (a fallback) answers from the start. */
    public void reset() {
        Arrays.fill(experts, -1);
        Arrays.fill(weights, -1);
        for (float[] p : probabilities) {
            Arrays.fill(p, -1);
        }
        seen = frozen = taken = 0;
    }

    /** Takes {@code sequence}'s rows from a drained trace; rows already final stay as they are. */
    public void record(RouterTrace trace, int sequence) {
        if (!active) {
            return;
        }
        for (TokenRoute r : trace.routes()) {
            int row = r.position();
            if (r.sequence() != sequence || row < frozen || row >= capacity || r.layer() >= slotOf.length || slotOf[r.layer()] < 0) {
                continue;
            }
            int at = row * width + slotOf[r.layer()] * k;
            int[] ex = r.experts();
            float[] w = r.weights();
            for (int j = 0; j < k; j++) {
                boolean used = r.answered(j); // a token may use fewer experts than k
                experts[at + j] = used ? ex[j] : -1;
                weights[at + j] = used ? w[j] : -1;
            }
            seen = Math.max(seen, row + 1);
        }
        for (TokenProbabilities p : trace.probabilities()) {
            int i = probabilityLayers.indexOf(p.layer());
            int row = p.position();
            if (p.sequence() == sequence && i >= 0 && row >= frozen && row < capacity) {
                System.arraycopy(p.probabilities(), 0, probabilities[i], row * e, e);
            }
        }
    }

    /** A token was sent: the rows decoded so far, up to {@code rows} of them, produced it and are final. */
    public void freeze(int rows) {
        frozen = Math.max(frozen, Math.min(seen, rows));
    }

    /** The final rows not handed out yet, or null if there are none. */
    public RoutedExperts take() {
        if (!active || taken == frozen) {
            return null;
        }
        RoutedExperts r = slice(taken, frozen);
        taken = frozen;
        return r;
    }

    /** All final rows, or null when not recording. */
    public RoutedExperts all() {
        return active ? slice(0, frozen) : null;
    }

    private RoutedExperts slice(int from, int to) {
        List<RoutedExperts.LayerCoverage> coverage = new ArrayList<>();
        for (int slot = 0; slot < info.moeLayers().size(); slot++) {
            LayerRouting lr = info.routing().get(slot);
            coverage.add(new RoutedExperts.LayerCoverage(lr.layer(), lr.hasRouter(), lr.outputRowsOnly(), spans(slot, from, to)));
        }
        List<RoutedExperts.LayerProbabilities> probs = new ArrayList<>();
        for (int i = 0; i < probabilityLayers.size(); i++) {
            probs.add(new RoutedExperts.LayerProbabilities(probabilityLayers.get(i), e,
                    Arrays.copyOfRange(probabilities[i], from * e, to * e)));
        }
        return new RoutedExperts(from, to - from, info.moeLayers(), k, Arrays.copyOfRange(experts, from * width, to * width),
                Arrays.copyOfRange(weights, from * width, to * width), coverage, probs);
    }

    /** Whether {@code slot}'s layer routed {@code row}: any of its k entries holds an expert (an edit may empty the first). */
    private boolean routed(int row, int slot) {
        for (int j = 0; j < k; j++) {
            if (experts[row * width + slot * k + j] >= 0) {
                return true;
            }
        }
        return false;
    }

    private List<RoutedExperts.RowSpan> spans(int slot, int from, int to) {
        List<RoutedExperts.RowSpan> spans = new ArrayList<>();
        int start = -1;
        for (int row = from; row <= to; row++) {
            boolean routed = row < to && routed(row, slot);
            if (routed && start < 0) {
                start = row;
            } else if (!routed && start >= 0) {
                spans.add(new RoutedExperts.RowSpan(start, row));
                start = -1;
            }
        }
        return spans;
    }
}
