package dev.moeadapter.scmoe;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.DecodeOutputs;
import dev.moeadapter.core.engine.Sampler;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.engine.SequenceRuns;
import dev.moeadapter.core.engine.TokenStep;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.DecodingScheme;
import dev.moeadapter.core.routing.RoutingPlan;

import java.util.List;

/**
 * The strong view (the model's own routing) and the weak view decode as two sequences, each with
 * its own KV cache: the weak view prefills the prompt under weak routing too, view after view in
 * long runs, the last prompt token of both in one batch. Every step is then one decode of two
 * tokens; the choice is made natively from both output rows.
 */
public final class ContrastiveDecoding implements DecodingScheme {
    private final DecodeLane session;
    private final ScmoeSettings settings;
    private final int strong, weak;
    private int strongIndex, weakIndex;
    /** The token the last {@link #append} picked, or -1 when the next one comes from the last prefill's rows. */
    private int picked = -1;
    private Sampler sampler;

    public ContrastiveDecoding(DecodeLane session, ScmoeSettings settings, int strongSequence, int weakSequence) {
        if (session.sequences() < 2 || strongSequence == weakSequence
                || Math.min(strongSequence, weakSequence) < 0 || Math.max(strongSequence, weakSequence) >= session.sequences()) {
            throw new InvalidRequestException("scmoe needs two distinct sequences of the session, got "
                    + strongSequence + " and " + weakSequence + " of " + session.sequences());
        }
        if (session.batchSize() < 2) {
            throw new InvalidRequestException("scmoe needs a session batch size of at least 2");
        }
        this.session = session;
        this.settings = settings;
        this.strong = strongSequence;
        this.weak = weakSequence;
        session.setPlan(weak, settings.weak().plan(session.model().info()));
        session.setPlan(strong, RoutingPlan.EMPTY);
    }

    @Override
    public void prefill(int[] prompt, CancellationToken cancel) {
        session.clearSequence(strong);
        session.clearSequence(weak);
        if (prompt.length > 0) {
            int[] views = {strong, weak};
            int n = prompt.length;
            // view after view in long runs (see SequenceRuns). A prompt whose two views fit one batch is that one
            // batch; a longer one ends with its last token of both views in a batch of their own. The contrast
            // reads the outputs of that last token, which must come from one decode.
            boolean oneBatch = 2 * n <= session.batchSize();
            for (List<SequenceRuns.Run> runs : SequenceRuns.of(2, 0, oneBatch ? n : n - 1, session.batchSize())) {
                if (cancel.isCancelled()) {
                    throw new CancelledException("cancelled during prefill");
                }
                Batch.Builder b = Batch.builder();
                for (SequenceRuns.Run r : runs) {
                    for (int i = r.from(); i < r.to(); i++) {
                        b.add(prompt[i], i, views[r.index()], i == n - 1);
                    }
                }
                session.decode(b.build());
            }
            if (oneBatch) {
                strongIndex = n - 1;
                weakIndex = 2 * n - 1;
            } else {
                session.decode(Batch.builder().add(prompt[n - 1], n - 1, strong, true).add(prompt[n - 1], n - 1, weak, true).build());
                strongIndex = 0;
                weakIndex = 1;
            }
        }
        picked = -1;
    }

    @Override
    public int next(Sampler sampler) {
        if (settings.maskEos() && sampler != null) {
            throw new InvalidRequestException("scmoe mask-eos works with greedy decoding only");
        }
        this.sampler = sampler;
        if (picked >= 0) {
            int token = picked;
            picked = -1;
            return token;
        }
        return pick(session, strongIndex, weakIndex, sampler);
    }

    private int pick(DecodeOutputs outputs, int strongRow, int weakRow, Sampler sampler) {
        int token = outputs.pickContrast(sampler, strongRow, weakRow, settings.alpha(), settings.beta());
        int eos = session.model().info().eos();
        if (!settings.maskEos() || token != eos) {
            return token;
        }
        // the rare step whose best score is EOS: the best other token, from the full scores
        float[] scores = outputs.contrastScores(strongRow, weakRow, settings.alpha(), settings.beta());
        scores[eos] = Float.NEGATIVE_INFINITY;
        int best = 0;
        for (int i = 1; i < scores.length; i++) {
            if (scores[i] > scores[best]) {
                best = i;
            }
        }
        return best;
    }

    @Override
    public void append(int token, int position, boolean last) {
        Sampler s = sampler;
        picked = session.decodeAndPick(new TokenStep() {
            @Override
            public Batch rows(int t, int p) {
                return Batch.builder().add(t, p, strong, true).add(t, p, weak, true).build();
            }

            @Override
            public int pick(DecodeOutputs outputs) {
                return ContrastiveDecoding.this.pick(outputs, 0, 1, s);
            }
        }, token, position, last);
        strongIndex = 0;
        weakIndex = 1;
    }

    /** Batch index of the strong view's last output row (tests and diagnostics). */
    int strongIndex() {
        return strongIndex;
    }

    int weakIndex() {
        return weakIndex;
    }
}
