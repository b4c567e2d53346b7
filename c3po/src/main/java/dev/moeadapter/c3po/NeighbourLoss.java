package dev.moeadapter.c3po;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RoutingPlan;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The neighbours' answer loss for candidate pathways ω: Σ K(x_i,x)·ℓ(f(x_i, ω), y_i) / Σ K, where
 * ω replaces the router distribution of the critical layers at neighbour i's last prompt token (and,
 * when injected from there on, at the answer tokens scored after it), as it will at the answer, and
 * ℓ is the mean negative log-likelihood of its answer's first tokens (up to a cap). A prompt scored
 * against its own gold answer, as its single neighbour of weight 1, is the loss of
 * {@link ReferencePathwayOptimiser}.
 *
 * <p>ω changes nothing before the last prompt token (attention is causal), so each neighbour's prompt
 * minus its last token is prefilled once into its own sequence. Every candidate then costs one short
 * decode per neighbour: candidates of one evaluation run side by side as sequences that share the
 * prefix's KV cells (copied once), all in one batch, and the scored positions are removed afterwards.
 */
final class NeighbourLoss {
    private final DecodeLane session;
    private final CriticalRegion region;
    private final int first, slots, count;
    private final int[][] prompts, targets;
    private final double[] weights;
    private final boolean[][] copied;
    private final Injection injection;
    private final CancellationToken cancel;
    private int evaluations;

    /**
     * A labelled prompt the loss scores: a reference chosen as a neighbour, or a prompt scored
     * against its own gold answer.
     *
     * @param answer the answer tokens scored (the first {@code lossTokens} of them)
     * @param weight its kernel weight (not normalised)
     */
    record Scored(String id, int[] prompt, int[] answer, double weight) {
    }

    /**
     * @param firstSequence neighbours use sequences from here on: neighbour i's prefix lives in
     *                      {@code firstSequence + i·slots}, its candidate copies right after it
     */
    NeighbourLoss(DecodeLane session, ReferenceSet refs, List<Neighbour> neighbours, CriticalRegion region, int lossTokens,
                  Injection injection, int firstSequence, CancellationToken cancel) {
        this(session, neighbours.stream().map(nb -> new Scored(nb.id(), refs.prompt(nb.index()), refs.answer(nb.index()), nb.weight())).toList(),
                region, lossTokens, injection, firstSequence, cancel);
    }

    /** The loss of {@code scored} prompts, each weighted by its own weight; sequences as the other constructor uses them. */
    NeighbourLoss(DecodeLane session, List<Scored> scored, CriticalRegion region, int lossTokens, Injection injection, int firstSequence,
                  CancellationToken cancel) {
        this.session = session;
        this.injection = injection;
        this.region = region;
        this.cancel = cancel;
        this.first = firstSequence;
        this.count = scored.size();
        this.slots = (session.sequences() - firstSequence) / count;
        if (slots < 1) {
            throw new InvalidRequestException("c3po with " + count + " neighbours needs a session with at least "
                    + (firstSequence + count) + " sequences, this one has " + session.sequences());
        }
        prompts = new int[count][];
        targets = new int[count][];
        weights = new double[count];
        copied = new boolean[count][slots];
        for (int i = 0; i < count; i++) {
            Scored s = scored.get(i);
            prompts[i] = s.prompt();
            int m = Math.min(Math.min(lossTokens, s.answer().length), session.batchSize());
            if (prompts[i].length == 0 || m == 0) {
                throw new ReferenceSetException("reference '" + s.id() + "' has no prompt or no answer tokens");
            }
            targets[i] = Arrays.copyOf(s.answer(), m);
            weights[i] = s.weight();
            copied[i][0] = true;
        }
        prefillPrefixes();
    }

    /** Losses of the candidates, in order; decodes ⌈candidates / slots⌉ batches. */
    double[] evaluate(List<float[][]> candidates) {
        double[] out = new double[candidates.size()];
        for (int from = 0; from < candidates.size(); from += slots) {
            if (cancel.isCancelled()) {
                throw new CancelledException("cancelled while optimising the pathway");
            }
            int to = Math.min(candidates.size(), from + slots);
            evaluateChunk(candidates.subList(from, to), out, from);
        }
        evaluations += candidates.size();
        return out;
    }

    /** Candidate pathways evaluated so far. */
    int evaluations() {
        return evaluations;
    }

    /** Empties every sequence this loss used and clears their plans. */
    void release() {
        for (int i = 0; i < count; i++) {
            for (int j = 0; j < slots; j++) {
                if (copied[i][j]) {
                    int seq = sequence(i, j);
                    session.clearSequence(seq);
                    session.setPlan(seq, RoutingPlan.EMPTY);
                }
            }
        }
    }

    private int sequence(int neighbour, int slot) {
        return first + neighbour * slots + slot;
    }

    private void prefillPrefixes() {
        List<int[]> pending = new ArrayList<>(); // (neighbour, start) of prefix pieces still to decode
        for (int i = 0; i < count; i++) {
            int seq = sequence(i, 0);
            session.clearSequence(seq);
            session.setPlan(seq, RoutingPlan.EMPTY);
            for (int start = 0; start < prompts[i].length - 1; start += session.batchSize()) {
                pending.add(new int[]{i, start});
            }
        }
        Batch.Builder batch = Batch.builder();
        for (int[] piece : pending) {
            int i = piece[0], start = piece[1];
            int end = Math.min(prompts[i].length - 1, start + session.batchSize());
            if (batch.size() + (end - start) > session.batchSize()) {
                decode(batch);
                batch = Batch.builder();
            }
            for (int p = start; p < end; p++) {
                batch.add(prompts[i][p], p, sequence(i, 0), false);
            }
        }
        if (batch.size() > 0) {
            decode(batch);
        }
    }

    private void evaluateChunk(List<float[][]> candidates, double[] out, int offset) {
        List<int[]> scored = new ArrayList<>(); // (candidate, neighbour, batch index of its first scored row)
        Batch.Builder batch = Batch.builder();
        for (int j = 0; j < candidates.size(); j++) {
            for (int i = 0; i < count; i++) {
                int seq = sequence(i, j);
                int last = prompts[i].length - 1;
                if (!copied[i][j]) {
                    if (last > 0) {
                        session.copySequence(sequence(i, 0), seq, 0, last);
                    }
                    copied[i][j] = true;
                }
                session.setPlan(seq, region.plan(candidates.get(j), injection.positions(last)));
                int m = targets[i].length;
                if (batch.size() + m > session.batchSize()) {
                    score(batch, scored, out, offset);
                    batch = Batch.builder();
                    scored.clear();
                }
                scored.add(new int[]{j, i, batch.size()});
                batch.add(prompts[i][last], last, seq, true);
                for (int t = 0; t < m - 1; t++) {
                    batch.add(targets[i][t], last + 1 + t, seq, true);
                }
            }
        }
        score(batch, scored, out, offset);
        for (int j = 0; j < candidates.size(); j++) {
            for (int i = 0; i < count; i++) {
                session.removeTokens(sequence(i, j), prompts[i].length - 1, Integer.MAX_VALUE);
            }
        }
    }

    /** Decodes the rows of some (candidate, neighbour) pairs and adds their weighted losses. */
    private void score(Batch.Builder batch, List<int[]> scored, double[] out, int offset) {
        if (batch.size() == 0) {
            return;
        }
        decode(batch);
        int rows = 0;
        for (int[] s : scored) {
            rows += targets[s[1]].length;
        }
        int[] index = new int[rows], target = new int[rows];
        int r = 0;
        for (int[] s : scored) {
            for (int t = 0; t < targets[s[1]].length; t++, r++) {
                index[r] = s[2] + t;
                target[r] = targets[s[1]][t];
            }
        }
        float[] nll = session.nll(index, target);
        double total = Arrays.stream(weights).sum();
        r = 0;
        for (int[] s : scored) {
            int m = targets[s[1]].length;
            double mean = 0;
            for (int t = 0; t < m; t++, r++) {
                mean += nll[r] / m;
            }
            out[offset + s[0]] += weights[s[1]] / total * mean;
        }
    }

    private void decode(Batch.Builder batch) {
        if (cancel.isCancelled()) {
            throw new CancelledException("cancelled while optimising the pathway");
        }
        session.decode(batch.build());
    }
}
