package dev.moeadapter.c3po;

import java.util.List;

/**
 * What C3PO did for one prompt.
 *
 * @param algorithm   "kr", "mode" or "ngd"
 * @param neighbours  the references the pathway came from (empty when degraded)
 * @param layers      the critical layers whose router distribution is replaced
 * @param pathway     the injected distribution per critical layer (empty when degraded)
 * @param baseLoss    the neighbour loss of the prompt's own pathway ω0 (NaN when not evaluated)
 * @param loss        the neighbour loss of the injected pathway (NaN when not evaluated)
 * @param evaluations candidate pathways whose neighbour loss was computed
 * @param degraded    why the base model's routing was kept, or null when a pathway was injected
 * @param nanos       time from the start of the request to the injected plan
 */
public record Adaptation(String algorithm, List<Neighbour> neighbours, List<Integer> layers, float[][] pathway,
                         double baseLoss, double loss, int evaluations, String degraded, long nanos) {
    public Adaptation {
        neighbours = List.copyOf(neighbours);
        layers = List.copyOf(layers);
        float[][] copy = new float[pathway.length][];
        for (int i = 0; i < pathway.length; i++) {
            copy[i] = pathway[i].clone();
        }
        pathway = copy;
    }

    static Adaptation degraded(String algorithm, String reason, long nanos) {
        return new Adaptation(algorithm, List.of(), List.of(), new float[0][], Double.NaN, Double.NaN, 0, reason, nanos);
    }

    /** The same result, timed for a request that reused it. */
    Adaptation withNanos(long n) {
        return new Adaptation(algorithm, neighbours, layers, pathway, baseLoss, loss, evaluations, degraded, n);
    }

    public boolean adapted() {
        return degraded == null;
    }

    @Override
    public float[][] pathway() {
        float[][] copy = new float[pathway.length][];
        for (int i = 0; i < pathway.length; i++) {
            copy[i] = pathway[i].clone();
        }
        return copy;
    }
}
