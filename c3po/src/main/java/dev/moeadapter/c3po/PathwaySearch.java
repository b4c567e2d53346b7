package dev.moeadapter.c3po;

import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.optim.SpsaDescent;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The three C3PO algorithms: each turns ω0 and the references into the pathway to inject. */
final class PathwaySearch {
    /** @param degraded why no pathway was found, or null */
    record Outcome(float[][] pathway, List<Neighbour> neighbours, double baseLoss, double loss, int evaluations, String degraded) {
        static Outcome degraded(String reason) {
            return new Outcome(null, List.of(), Double.NaN, Double.NaN, 0, reason);
        }
    }

    private final ReferenceSet refs;
    private final C3poSettings settings;

    PathwaySearch(ReferenceSet refs, C3poSettings settings) {
        this.refs = refs;
        this.settings = settings;
    }

    /**
     * @param neighbourSequence first session sequence the neighbour loss may use (sequences below it
     *                          are left alone)
     */
    Outcome search(DecodeLane session, CriticalRegion region, NeighbourSearch.Result found, int neighbourSequence, CancellationToken cancel) {
        if (settings.algorithm() instanceof Algorithm.ModeFinding mode) {
            return modeFinding(mode, region, found.duplicates());
        }
        List<Neighbour> nearest = found.nearest();
        if (nearest.isEmpty()) {
            return Outcome.degraded("no reference is left after leaving out " + found.duplicates().length + " near-duplicates of the prompt");
        }
        if (settings.algorithm() instanceof Algorithm.PaperKernelRegression) {
            float[][] pathway = Algorithm.PaperKernelRegression.combine(nearest.stream().map(nb -> region.rows(refs.pathway(nb.index()))).toList(),
                    nearest.stream().mapToDouble(Neighbour::similarity).toArray());
            return pathway == null ? Outcome.degraded("the neighbours' cosine similarities do not sum to a positive number")
                    : new Outcome(pathway, nearest, Double.NaN, Double.NaN, 0, null);
        }
        double total = nearest.stream().mapToDouble(Neighbour::weight).sum();
        if (!(total > 0) || !Double.isFinite(total)) {
            return Outcome.degraded("the kernel weights of the neighbours vanish (bandwidth " + settings.bandwidth() + " is too small)");
        }
        if (settings.algorithm() instanceof Algorithm.KernelRegression kr && kr.alphas().size() == 1) {
            return new Outcome(kernelCandidate(region, nearest, total, kr.alphas().getFirst()), nearest, Double.NaN, Double.NaN, 0, null);
        }
        NeighbourLoss loss = new NeighbourLoss(session, refs, nearest, region, settings.lossTokens(), settings.injection(), neighbourSequence, cancel);
        try {
            return switch (settings.algorithm()) {
                case Algorithm.KernelRegression kr -> kernelRegression(kr, region, nearest, total, loss);
                case Algorithm.GradientDescent ngd -> gradientDescent(ngd, region, nearest, loss);
                case Algorithm.ModeFinding m -> throw new IllegalStateException("handled above");
                case Algorithm.PaperKernelRegression p -> throw new IllegalStateException("handled above");
            };
        } finally {
            loss.release();
        }
    }

    /** ω = restrict(α·ω0 + (1−α)·ω̂), ω̂ the kernel-weighted mean of the neighbours' pathways. */
    private float[][] kernelCandidate(CriticalRegion region, List<Neighbour> nearest, double total, double alpha) {
        float[][] own = region.own();
        double[][] mean = new double[own.length][own[0].length];
        for (Neighbour nb : nearest) {
            float[][] rows = region.rows(refs.pathway(nb.index()));
            for (int l = 0; l < rows.length; l++) {
                for (int e = 0; e < rows[l].length; e++) {
                    mean[l][e] += nb.weight() / total * rows[l][e];
                }
            }
        }
        float[][] candidate = new float[own.length][own[0].length];
        for (int l = 0; l < own.length; l++) {
            for (int e = 0; e < own[l].length; e++) {
                candidate[l][e] = (float) (alpha * own[l][e] + (1 - alpha) * mean[l][e]);
            }
        }
        return region.restrict(candidate);
    }

    private Outcome kernelRegression(Algorithm.KernelRegression kr, CriticalRegion region, List<Neighbour> nearest, double total,
                                     NeighbourLoss loss) {
        List<Double> alphas = new ArrayList<>(kr.alphas());
        if (!alphas.contains(1.0)) {
            alphas.add(1.0); // ω0 itself, for the base loss
        }
        List<float[][]> candidates = alphas.stream().map(a -> kernelCandidate(region, nearest, total, a)).toList();
        double[] losses = loss.evaluate(candidates);
        int best = -1;
        for (int i = 0; i < kr.alphas().size(); i++) {
            if (best < 0 || losses[i] < losses[best]) {
                best = i;
            }
        }
        return new Outcome(candidates.get(best), nearest, losses[alphas.indexOf(1.0)], losses[best], loss.evaluations(), null);
    }

    private Outcome gradientDescent(Algorithm.GradientDescent ngd, CriticalRegion region, List<Neighbour> nearest, NeighbourLoss loss) {
        Descent d = descend(ngd, region, loss);
        return new Outcome(d.pathway(), nearest, d.baseLoss(), d.loss(), loss.evaluations(), null);
    }

    /** Where a descent ended: the pathway over the region's layers, and the loss at ω0 and at it. */
    record Descent(float[][] pathway, double baseLoss, double loss) {
    }

    /**
     * NGD from ω0 over the region's log-probabilities; each step scores the current point with its
     * probes. The outcome is the best point evaluated, and ω0 itself unless some point scored
     * strictly lower than ω0 did, so its loss is never above ω0's.
     */
    static Descent descend(Algorithm.GradientDescent ngd, CriticalRegion region, NeighbourLoss loss) {
        double base = loss.evaluate(List.<float[][]>of(region.own()))[0];
        SpsaDescent optimizer = new SpsaDescent(region.logCore(), ngd.gains(), ngd.seed());
        for (int step = 0; step < ngd.steps(); step++) {
            optimizer.step(toFloats(loss.evaluate(optimizer.points().stream().map(region::fromLogCore).toList())));
        }
        double best = optimizer.settle((float) loss.evaluate(List.<float[][]>of(region.fromLogCore(optimizer.parameters())))[0]);
        // the optimiser keeps losses as floats; rounding is monotonic, so a lower float is a strictly lower loss
        if (!(best < (float) base)) {
            return new Descent(region.own(), base, base);
        }
        return new Descent(region.fromLogCore(optimizer.parameters()), base, best);
    }

    private static float[] toFloats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    /** Mean-shift from ω0 over the references nearest in pathway space (near-duplicates of the prompt left out). */
    private Outcome modeFinding(Algorithm.ModeFinding mode, CriticalRegion region, int[] duplicates) {
        int[] slots = region.slots();
        float[][] omega = region.own();
        double twoH2 = 2 * mode.bandwidth() * mode.bandwidth();
        List<Neighbour> used = List.of();
        for (int it = 0; it < mode.iterations(); it++) {
            List<Neighbour> near = nearestPathways(omega, slots, duplicates, twoH2);
            double total = near.stream().mapToDouble(Neighbour::weight).sum();
            if (!(total > 0)) {
                if (it == 0) {
                    return Outcome.degraded(near.isEmpty() ? "no reference is left after leaving out " + duplicates.length + " near-duplicates of the prompt"
                            : "the pathway kernel weights vanish (bandwidth " + mode.bandwidth() + " is too small)");
                }
                break;
            }
            used = near;
            double[][] shifted = new double[omega.length][omega[0].length];
            for (Neighbour nb : near) {
                for (int l = 0; l < slots.length; l++) {
                    float[] row = refs.pathwayRow(nb.index(), slots[l]);
                    for (int e = 0; e < row.length; e++) {
                        shifted[l][e] += nb.weight() / total * row[e];
                    }
                }
            }
            for (int l = 0; l < omega.length; l++) {
                for (int e = 0; e < omega[l].length; e++) {
                    omega[l][e] = (float) (mode.alpha() * omega[l][e] + (1 - mode.alpha()) * shifted[l][e]);
                }
            }
        }
        return new Outcome(region.restrict(omega), used, Double.NaN, Double.NaN, 0, null);
    }

    /** The k references whose critical-layer pathways lie nearest ω (mean squared distance per layer). */
    private List<Neighbour> nearestPathways(float[][] omega, int[] slots, int[] duplicates, double twoH2) {
        BestK nearest = new BestK(settings.neighbours()); // scored by −distance
        for (int i = 0, n = refs.size(); i < n; i++) {
            if (Arrays.binarySearch(duplicates, i) >= 0) {
                continue;
            }
            double d = 0;
            for (int l = 0; l < slots.length; l++) {
                d += refs.squaredDistance(i, slots[l], omega[l]);
            }
            nearest.offer(i, -d / slots.length);
        }
        List<Neighbour> out = new ArrayList<>(nearest.size());
        for (int j = 0; j < nearest.size(); j++) {
            double d = -nearest.score(j);
            out.add(new Neighbour(nearest.index(j), refs.id(nearest.index(j)), -d, Math.exp(-d / twoH2)));
        }
        return out;
    }
}
