package dev.moeadapter.c3po;

import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The batched neighbour loss equals the loss computed the slow way, one neighbour and candidate at a time. */
class NeighbourLossTest {
    @Test
    void batchedSharedPrefixLossEqualsSeparateFullDecodes() {
        Model m = TestModels.olmoe();
        Path file = Fixtures.build(m, Fixtures.answeredCorrectly(m, C3poStrategyTest.SUMS));
        int[] query = m.tokenize(C3poStrategyTest.QUERY);
        try (ReferenceSet refs = ReferenceSet.load(file, m)) {
            List<Neighbour> neighbours = List.of(new Neighbour(0, refs.id(0), 0.9, 0.7), new Neighbour(2, refs.id(2), 0.8, 0.2),
                    new Neighbour(4, refs.id(4), 0.7, 0.1));
            float[] own;
            try (Session s = Fixtures.session(m, 1)) {
                own = PromptProbe.run(s, 0, query, false, new CancellationToken()).pathway();
            }
            CriticalRegion region = CriticalRegion.of(m.info().moeLayers(), m.info().experts(), own, 2, 6);
            float[] theta = region.logCore();
            float[] shifted = theta.clone();
            for (int i = 0; i < shifted.length; i++) {
                shifted[i] += (i % 3 - 1) * 1.5f;
            }
            List<float[][]> candidates = List.of(region.own(), region.fromLogCore(shifted), region.rows(refs.pathway(1)));
            int lossTokens = 2;

            for (Injection injection : Injection.values()) {
            double[] wide, narrow;
            try (Session s = Fixtures.session(m, 1 + 3 * candidates.size())) {
                NeighbourLoss loss = new NeighbourLoss(s, refs, neighbours, region, lossTokens, injection, 1, new CancellationToken());
                wide = loss.evaluate(candidates);
                assertThat(loss.evaluate(candidates)).as("positions are removed after each evaluation").containsExactly(wide, within(1e-6));
                loss.release();
            }
            try (Session s = Fixtures.session(m, 1 + 3)) {
                NeighbourLoss loss = new NeighbourLoss(s, refs, neighbours, region, lossTokens, injection, 1, new CancellationToken());
                narrow = loss.evaluate(candidates);
                loss.release();
            }
            assertThat(narrow).as("one slot per neighbour: a decode per candidate").containsExactly(wide, within(1e-5));
            assertThat(wide[1]).isNotCloseTo(wide[0], within(1e-4));

            for (int c = 0; c < candidates.size(); c++) {
                double expected = 0;
                for (Neighbour nb : neighbours) {
                    expected += nb.weight() * separately(m, refs, nb.index(), region, candidates.get(c), lossTokens, injection);
                }
                assertThat(wide[c]).as("%s candidate %d", injection, c).isCloseTo(expected / 1.0, within(1e-4));
            }
            }
        }
    }

    /** Mean NLL of the first answer tokens with ω injected as {@code injection} says, in a fresh session. */
    private static double separately(Model m, ReferenceSet refs, int index, CriticalRegion region, float[][] omega, int lossTokens,
                                     Injection injection) {
        int[] prompt = refs.prompt(index), answer = refs.answer(index);
        int n = Math.min(lossTokens, answer.length);
        int[] all = new int[prompt.length + n - 1];
        System.arraycopy(prompt, 0, all, 0, prompt.length);
        System.arraycopy(answer, 0, all, prompt.length, n - 1);
        try (Session s = Fixtures.session(m, 1)) {
            s.setPlan(0, region.plan(omega, injection.positions(prompt.length - 1)));
            s.decode(Batch.allOutputs(0, 0, all));
            int[] idx = new int[n], tgt = new int[n];
            for (int t = 0; t < n; t++) {
                idx[t] = prompt.length - 1 + t;
                tgt[t] = answer[t];
            }
            double sum = 0;
            for (float v : s.nll(idx, tgt)) {
                sum += v;
            }
            return sum / n;
        }
    }
}
