package dev.moeadapter.rerouting;

import dev.moeadapter.core.InvalidRequestException;

import java.util.ArrayList;
import java.util.List;

/**
 * Which MoE layers get a router delta, from each layer's score C_l (the context's mean
 * −(1/k)·Σ log p over its selected experts: high where routing is uncertain).
 */
public sealed interface LayerSelection {
    /** The chosen layers with the weight of their updates (1 for a hard choice), in layer order. */
    List<WeightedLayer> select(ContextStatistics stats);

    /** The forms {@link #parse} reads. */
    String FORM = "soft|top:(\\d+(\\.\\d*)?|\\.\\d+)";

    /** This selection as the {@code layers} setting writes it, e.g. "top:1". */
    String label();

    /** {@code top:R} (R a fraction in (0, 1]) or {@code soft}, as settings and the command line write it. */
    static LayerSelection parse(String spec) {
        String t = spec.trim();
        if (t.equals("soft")) {
            return new Soft();
        }
        if (t.startsWith("top:")) {
            try {
                return new Top(Double.parseDouble(t.substring(4)));
            } catch (NumberFormatException e) {
                // refused below
            }
        }
        throw new InvalidRequestException("rerouting setting 'layers' must be top:R (a fraction in (0, 1]) or soft, got '" + spec + "'");
    }

    /** A layer and the factor its steps are multiplied by. */
    record WeightedLayer(int layer, float weight) {
    }

    /** The top fraction of layers by C_l, at least one, each with weight 1. */
    record Top(double fraction) implements LayerSelection {
        public Top {
            if (!(fraction > 0 && fraction <= 1)) {
                throw new InvalidRequestException("rerouting layer fraction r must be in (0, 1], got " + fraction);
            }
        }

        @Override
        public String label() {
            return "top:" + (fraction == Math.rint(fraction) ? String.valueOf((long) fraction) : String.valueOf(fraction));
        }

        @Override
        public List<WeightedLayer> select(ContextStatistics stats) {
            List<Integer> layers = stats.layers();
            int count = Math.max(1, (int) Math.ceil(fraction * layers.size() - 1e-9));
            List<Integer> order = new ArrayList<>(layers.size());
            for (int i = 0; i < layers.size(); i++) {
                order.add(i);
            }
            order.sort((a, b) -> Double.compare(stats.score(b), stats.score(a)));
            List<Integer> chosen = new ArrayList<>(order.subList(0, count));
            chosen.sort(null);
            return chosen.stream().map(i -> new WeightedLayer(layers.get(i), 1f)).toList();
        }
    }

    /**
     * Every layer, its updates weighted by its min-max-normalised C_l; the lowest-scoring layer
     * gets weight 0 and is left out. Equal scores give every layer weight 1.
     */
    record Soft() implements LayerSelection {
        @Override
        public String label() {
            return "soft";
        }

        @Override
        public List<WeightedLayer> select(ContextStatistics stats) {
            List<Integer> layers = stats.layers();
            double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < layers.size(); i++) {
                min = Math.min(min, stats.score(i));
                max = Math.max(max, stats.score(i));
            }
            List<WeightedLayer> out = new ArrayList<>();
            for (int i = 0; i < layers.size(); i++) {
                float w = max > min ? (float) ((stats.score(i) - min) / (max - min)) : 1f;
                if (w > 0) {
                    out.add(new WeightedLayer(layers.get(i), w));
                }
            }
            return out;
        }
    }
}
