package dev.moeadapter.rerouting;

import dev.moeadapter.core.InvalidRequestException;

/**
 * How the optimised vector θ maps to the router deltas δ_l of the selected layers. SPSA needs about
 * as many probe pairs as θ has coordinates for a usable direction, so the smaller spaces matter.
 */
public sealed interface Parameterisation {

    /** The forms {@link #parse} reads. */
    String FORM = "full|scalar|top:\\d{1,9}";

    /** This parameterisation as the {@code param} setting writes it, e.g. "full". */
    String label();

    /** {@code full}, {@code scalar} or {@code top:M}, as settings and the command line write it. */
    static Parameterisation parse(String spec) {
        String t = spec.trim();
        if (t.equals("full")) {
            return new Full();
        }
        if (t.equals("scalar")) {
            return new LayerScalar();
        }
        if (t.startsWith("top:")) {
            try {
                return new TopExperts(Integer.parseInt(t.substring(4)));
            } catch (NumberFormatException e) {
                // refused below
            }
        }
        throw new InvalidRequestException("rerouting setting 'param' must be full, scalar or top:M, got '" + spec + "'");
    }
    /** δ_l ∈ R^E free on every selected layer: d = layers·E. */
    record Full() implements Parameterisation {
        @Override
        public String label() {
            return "full";
        }
    }

    /**
     * δ_l free on the {@code experts} experts the context selects most often in layer l (ties by
     * mean router probability), zero elsewhere: d = layers·experts (at most the model's E, which
     * {@link ReroutingStrategy#validate} checks).
     */
    record TopExperts(int experts) implements Parameterisation {
        public TopExperts {
            if (experts < 1) {
                throw new InvalidRequestException("rerouting top-experts count must be >= 1, got " + experts);
            }
        }

        @Override
        public String label() {
            return "top:" + experts;
        }
    }

    /**
     * δ_l = a_l·u_l with u_l the centred log of the context's mean router distribution in layer l,
     * scaled to unit RMS so that a_l is in logits: d = layers. a_l > 0 sharpens the context's own
     * preference, a_l < 0 flattens it.
     */
    record LayerScalar() implements Parameterisation {
        @Override
        public String label() {
            return "scalar";
        }
    }
}
