package dev.moeadapter.samples.experts;

import dev.moeadapter.steering.SteeringFile;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * How often each expert of each MoE layer was selected by the tokens of two prompt sets, A and B.
 * Per layer and expert: the activation rates (share of a set's tokens that selected the expert, so
 * each layer's rates sum to its top-k), their risk difference rate A − rate B (SteerMoE's
 * contrast), and the normalised PMI between "the token is from A" and "the token selected the
 * expert" (RICE's measure: −1 never together, 0 independent, 1 always together).
 *
 * @param layers  the MoE layers (model layer indices)
 * @param countsA [layer slot][expert] tokens of A that selected the expert
 * @param tokensA tokens of A that the layer at each slot routed
 */
public record ExpertProfile(List<Integer> layers, int experts, int topK, long[][] countsA, long[] tokensA, long[][] countsB,
                            long[] tokensB) {
    public ExpertProfile {
        layers = List.copyOf(layers);
    }

    public double rateA(int slot, int expert) {
        return rate(countsA[slot][expert], tokensA[slot]);
    }

    public double rateB(int slot, int expert) {
        return rate(countsB[slot][expert], tokensB[slot]);
    }

    public double riskDifference(int slot, int expert) {
        return rateA(slot, expert) - rateB(slot, expert);
    }

    /** nPMI(token from A; token selected the expert) over the tokens of both sets; NaN where the expert was never selected. */
    public double npmi(int slot, int expert) {
        double n = tokensA[slot] + tokensB[slot];
        double joint = countsA[slot][expert] / n;
        double selected = (countsA[slot][expert] + countsB[slot][expert]) / n, fromA = tokensA[slot] / n;
        if (selected == 0 || fromA == 0) {
            return Double.NaN;
        }
        if (joint == 0) {
            return -1;
        }
        if (joint == 1) {
            return 1;
        }
        return Math.log(joint / (selected * fromA)) / -Math.log(joint);
    }

    private static double rate(long count, long tokens) {
        return tokens == 0 ? Double.NaN : (double) count / tokens;
    }

    /**
     * The steering that moves routing toward A: per layer the {@code perLayer} experts with the
     * largest risk difference of at least {@code minDifference} are promoted, those with the most
     * negative one of at most −{@code minDifference} suppressed; strength = |risk difference|.
     */
    public List<SteeringFile.Entry> steering(int perLayer, double minDifference) {
        List<SteeringFile.Entry> entries = new ArrayList<>();
        for (int slot = 0; slot < layers.size(); slot++) {
            List<SteeringFile.Entry> promote = new ArrayList<>(), suppress = new ArrayList<>();
            for (int e = 0; e < experts; e++) {
                double d = riskDifference(slot, e);
                if (d >= minDifference) {
                    promote.add(new SteeringFile.Entry(layers.get(slot), e, SteeringFile.Action.PROMOTE, d));
                } else if (d <= -minDifference) {
                    suppress.add(new SteeringFile.Entry(layers.get(slot), e, SteeringFile.Action.SUPPRESS, -d));
                }
            }
            Comparator<SteeringFile.Entry> strongest = Comparator.comparingDouble(SteeringFile.Entry::strength).reversed();
            promote.stream().sorted(strongest).limit(perLayer).forEach(entries::add);
            suppress.stream().sorted(strongest).limit(perLayer).forEach(entries::add);
        }
        return entries;
    }

    /** The profile as TSV: one line per layer and expert. */
    public String tsv() {
        StringBuilder s = new StringBuilder("layer\texpert\trate_a\trate_b\trisk_difference\tnpmi\n");
        for (int slot = 0; slot < layers.size(); slot++) {
            for (int e = 0; e < experts; e++) {
                s.append(String.format(Locale.ROOT, "%d\t%d\t%.6f\t%.6f\t%.6f\t%.6f%n", layers.get(slot), e, rateA(slot, e), rateB(slot, e),
                        riskDifference(slot, e), npmi(slot, e)));
            }
        }
        return s.toString();
    }
}
