package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.routing.RoutingPlan;

import java.util.List;
import java.util.Objects;

/**
 * The optional recipe for reference pathways (LAB.md principle 5): for a labelled prompt the base
 * model answers wrongly, a pathway under which it answers correctly. From ω0, the prompt's own
 * pathway, NGD minimises the mean negative log-likelihood of the gold answer's tokens with ω
 * injected where C3PO injects it — the prompt is its own single neighbour, weight 1, in
 * {@link NeighbourLoss} — over every MoE layer and every expert, so that the pathway stored is a
 * full one like the paper's. The result is never scored higher than ω0; whether it makes the answer
 * correct is for the caller to check ({@link #plan}).
 *
 * <p>Sequence 0 is left to the caller (it answers); the loss uses the sequences from 1 on.
 */
public final class ReferencePathwayOptimiser {
    /** The answering sequence, and at least one for the gold answer's loss. */
    static final int MIN_SEQUENCES = 2;
    private static final int LOSS_SEQUENCE = 1;

    /**
     * @param steps     NGD steps (antithetic SPSA with NGD's default gains and directions)
     * @param injection where ω is injected while the gold answer is scored and while the answer is
     *                  checked; C3PO's default unless the set serves another setting
     */
    public record Settings(int steps, Injection injection) {
        public static final int MAX_STEPS = 200;
        public static final Settings DEFAULTS = new Settings(20, C3poSettings.DEFAULTS.injection());

        public Settings {
            if (steps < 1 || steps > MAX_STEPS) {
                throw new InvalidRequestException("c3po reference pathway optimisation steps must be 1.." + MAX_STEPS + ", got " + steps);
            }
            Objects.requireNonNull(injection, "injection");
        }

        public Settings withSteps(int n) {
            return new Settings(n, injection);
        }

        /** Sequences with which every step is one batched decode (fewer, down to 2, take several). */
        public int sequencesNeeded() {
            return LOSS_SEQUENCE + descent().pointsPerEvaluation(); // the answer's below the loss's, then one per point of a step
        }

        Algorithm.GradientDescent descent() {
            return Algorithm.GradientDescent.DEFAULTS.withSteps(steps);
        }
    }

    /**
     * @param rows     the pathway found, one row per MoE layer
     * @param baseLoss the gold answer's loss at ω0
     * @param loss     its loss at {@code rows}: at most {@code baseLoss}
     */
    record Result(float[][] rows, double baseLoss, double loss) {
        /** The pathway as a reference stores it: MoE layers × experts. */
        float[] pathway() {
            int experts = rows[0].length;
            float[] out = new float[rows.length * experts];
            for (int l = 0; l < rows.length; l++) {
                System.arraycopy(rows[l], 0, out, l * experts, experts);
            }
            return out;
        }
    }

    private final DecodeLane session;
    private final Settings settings;

    ReferencePathwayOptimiser(DecodeLane session, Settings settings) {
        this.session = Objects.requireNonNull(session, "session");
        this.settings = Objects.requireNonNull(settings, "settings");
        if (session.sequences() < MIN_SEQUENCES) {
            throw new InvalidRequestException("optimising reference pathways needs a session with at least " + MIN_SEQUENCES
                    + " sequences (the answer's and the gold answer's loss; " + settings.sequencesNeeded()
                    + " score each step in one decode), this one has " + session.sequences());
        }
    }

    /**
     * Minimises the gold answer's loss over the pathway, from {@code ownPathway}.
     *
     * @param ownPathway ω0: the prompt's plain pathway, MoE layers × experts
     * @param gold       the gold answer's tokens, as many as are scored
     */
    Result optimise(int[] prompt, float[] ownPathway, int[] gold, CancellationToken cancel) {
        ModelInfo info = session.model().info();
        CriticalRegion everywhere = CriticalRegion.of(info.moeLayers(), info.experts(), ownPathway, info.moeLayers().size(), info.experts());
        NeighbourLoss loss = new NeighbourLoss(session, List.of(new NeighbourLoss.Scored("gold", prompt, gold, 1)), everywhere, gold.length,
                settings.injection(), LOSS_SEQUENCE, cancel);
        try {
            PathwaySearch.Descent d = PathwaySearch.descend(settings.descent(), everywhere, loss);
            return new Result(d.pathway(), d.baseLoss(), d.loss());
        } finally {
            loss.release();
        }
    }

    /** Injects a result into a prompt whose last token sits at {@code last}, where its loss injected it. */
    RoutingPlan plan(Result r, int last) {
        return CriticalRegion.plan(session.model().info().moeLayers(), r.rows(), settings.injection().positions(last));
    }
}
