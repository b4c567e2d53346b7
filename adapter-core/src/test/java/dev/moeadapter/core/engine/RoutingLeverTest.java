package dev.moeadapter.core.engine;

import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The router-logit lever on real llama.cpp, for both gating styles (OLMoE and Mixtral). */
class RoutingLeverTest {
    private static final String PROMPT = "The quick brown fox jumps";

    private static Session open(Model m, int sequences) {
        return m.newSession(new SessionParams(512, 128, sequences, 1, 1));
    }

    /** Decodes the prompt on sequence 0 with every token outputting; returns all logits rows. */
    private static float[][] run(Model m, RoutingPlan plan) {
        try (Session s = open(m, 1)) {
            s.setPlan(0, plan);
            int[] toks = m.tokenize(PROMPT);
            s.decode(Batch.allOutputs(0, 0, toks));
            float[][] out = new float[toks.length][];
            for (int i = 0; i < toks.length; i++) {
                out[i] = s.logits(i);
            }
            return out;
        }
    }

    private static RouterTrace trace(Model m, RoutingPlan plan, TraceSpec spec) {
        try (Session s = open(m, 1)) {
            s.setPlan(0, plan);
            s.setTrace(0, spec);
            s.decode(Batch.allOutputs(0, 0, m.tokenize(PROMPT)));
            return s.drainTrace();
        }
    }

    private static void assertBitIdentical(float[][] a, float[][] b) {
        assertThat(a.length).isEqualTo(b.length);
        for (int i = 0; i < a.length; i++) {
            assertThat(Arrays.equals(a[i], b[i])).as("row %d bit-identical", i).isTrue();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void emptyPlanIsBitIdenticalToNoPlan(String name) {
        Model m = TestModels.byName(name);
        float[][] none;
        try (Session s = open(m, 1)) {
            int[] toks = m.tokenize(PROMPT);
            s.decode(Batch.allOutputs(0, 0, toks));
            none = new float[toks.length][];
            for (int i = 0; i < toks.length; i++) {
                none[i] = s.logits(i);
            }
        }
        assertBitIdentical(run(m, RoutingPlan.EMPTY), none);
        // an edit whose positions lie outside the batch is not applied either
        int last = m.info().lastMoeLayer();
        assertBitIdentical(run(m, RoutingPlan.of(new RouterEdit.KeepRank(last, 2, PositionRange.from(1000)))), none);
    }

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void zeroDeltaChangesNothingButANonZeroDeltaDoes(String name) {
        Model m = TestModels.byName(name);
        float[][] base = run(m, RoutingPlan.EMPTY);
        int e = m.info().experts();
        RoutingPlan zero = new RoutingPlan(m.info().moeLayers().stream()
                .map(l -> (RouterEdit) new RouterEdit.AddDelta(l, new float[e], PositionRange.ALL)).toList());
        assertBitIdentical(run(m, zero), base);

        float[] bump = new float[e];
        bump[0] = 3f;
        float[][] moved = run(m, RoutingPlan.of(new RouterEdit.AddDelta(0, bump, PositionRange.ALL)));
        assertThat(Arrays.equals(moved[moved.length - 1], base[base.length - 1])).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void forcingAnExpertMakesTheTraceSelectIt(String name) {
        Model m = TestModels.byName(name);
        int e = m.info().experts();
        for (int layer : m.info().moeLayers()) {
            int expert = (layer * 5 + 3) % e;
            float[] force = new float[e];
            force[expert] = 100f;
            RouterTrace t = trace(m, RoutingPlan.of(new RouterEdit.AddDelta(layer, force, PositionRange.ALL)), TraceSpec.ROUTES);
            List<TokenRoute> routes = t.routes().stream().filter(r -> r.layer() == layer).toList();
            assertThat(routes).hasSize(m.tokenize(PROMPT).length);
            assertThat(routes).allSatisfy(r -> assertThat(r.experts()[0]).isEqualTo(expert));
            // the base routing does not already pick it everywhere
            RouterTrace base = trace(m, RoutingPlan.EMPTY, TraceSpec.ROUTES);
            assertThat(base.routes().stream().filter(r -> r.layer() == layer).allMatch(r -> r.experts()[0] == expert)).isFalse();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void anEditedSequenceLeavesItsBatchNeighbourBitIdentical(String name) {
        Model m = TestModels.byName(name);
        float[] force = new float[m.info().experts()];
        force[1] = 50f;
        NeighbourIsolation.assertPlanStaysOnItsSequence(m, new RoutingPlan(m.info().moeLayers().stream()
                .map(l -> (RouterEdit) new RouterEdit.AddDelta(l, force, PositionRange.ALL)).toList()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void lastLayerRowsMapToOutputTokensOnly(String name) {
        Model m = TestModels.byName(name);
        int last = m.info().lastMoeLayer();
        int[] toks = m.tokenize("mapping rows!");
        int editedPos = 3, otherPos = toks.length - 1;
        float[] force = new float[m.info().experts()];
        force[m.info().experts() - 1] = 100f;
        Batch batch = outputsAt(toks, editedPos, otherPos);

        float[] baseEdited, baseOther;
        try (Session s = open(m, 1)) {
            s.decode(batch);
            baseEdited = s.logits(editedPos);
            baseOther = s.logits(otherPos);
        }
        try (Session s = open(m, 1)) {
            s.setPlan(0, RoutingPlan.of(new RouterEdit.AddDelta(last, force, PositionRange.at(editedPos))));
            s.setTrace(0, TraceSpec.ROUTES);
            s.decode(batch);
            assertThat(Arrays.equals(s.logits(otherPos), baseOther)).as("unedited output row").isTrue();
            assertThat(Arrays.equals(s.logits(editedPos), baseEdited)).as("edited output row").isFalse();
            List<TokenRoute> lastRoutes = s.drainTrace().routes().stream().filter(r -> r.layer() == last).toList();
            assertThat(lastRoutes).extracting(TokenRoute::position).containsExactly(editedPos, otherPos);
            assertThat(lastRoutes.get(0).experts()[0]).isEqualTo(m.info().experts() - 1);
        }
    }

    private static Batch outputsAt(int[] toks, int... outputs) {
        Batch.Builder b = Batch.builder();
        for (int i = 0; i < toks.length; i++) {
            final int pos = i;
            b.add(toks[i], i, 0, Arrays.stream(outputs).anyMatch(o -> o == pos));
        }
        return b.build();
    }

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void rankKWeakRoutingGivesThatExpertAllTheWeight(String name) {
        Model m = TestModels.byName(name);
        int layer = m.info().moeLayers().get(0); // the first layer sees identical inputs with and without the edit
        TraceSpec spec = TraceSpec.routesAndProbabilities(PositionRange.ALL);
        RouterTrace base = trace(m, RoutingPlan.EMPTY, spec);
        RouterTrace weak = trace(m, RoutingPlan.of(new RouterEdit.KeepRank(layer, 2, PositionRange.ALL)), spec);
        for (TokenRoute w : weak.routes().stream().filter(r -> r.layer() == layer).toList()) {
            TokenRoute b = base.route(0, w.position(), layer).orElseThrow();
            assertThat(w.experts()[0]).as("rank-2 expert leads").isEqualTo(b.experts()[1]);
            assertThat(w.weights()[0]).isCloseTo(1f, within(1e-5f));
            for (int j = 1; j < w.weights().length; j++) {
                assertThat(w.weights()[j]).isLessThan(1e-6f);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void topMRenormalisesOverTheSurvivors(String name) {
        Model m = TestModels.byName(name);
        int layer = m.info().moeLayers().get(0);
        int keep = 1;
        TraceSpec spec = TraceSpec.routesAndProbabilities(PositionRange.ALL);
        RouterTrace base = trace(m, RoutingPlan.EMPTY, spec);
        RouterTrace weak = trace(m, RoutingPlan.of(new RouterEdit.KeepTop(layer, keep + 1, PositionRange.ALL)), spec);
        for (TokenProbabilities wp : weak.probabilities().stream().filter(p -> p.layer() == layer).toList()) {
            float[] p0 = base.probabilities(0, wp.position(), layer).orElseThrow().probabilities();
            TokenRoute b = base.route(0, wp.position(), layer).orElseThrow();
            int e1 = b.experts()[0], e2 = b.experts()[1];
            float z = p0[e1] + p0[e2];
            float[] p = wp.probabilities();
            assertThat(p[e1]).isCloseTo(p0[e1] / z, within(1e-5f));
            assertThat(p[e2]).isCloseTo(p0[e2] / z, within(1e-5f));
            assertThat(p[e1] + p[e2]).isCloseTo(1f, within(1e-5f));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void replacingTheDistributionReproducesOmegaInTheTrace(String name) {
        Model m = TestModels.byName(name);
        int e = m.info().experts();
        float[] omega = new float[e];
        float sum = 0;
        for (int i = 0; i < e; i++) {
            omega[i] = (i % 3 == 0) ? 0f : 1f + i;
            sum += omega[i];
        }
        for (int i = 0; i < e; i++) {
            omega[i] /= sum;
        }
        int pos = 4;
        for (int layer : m.info().moeLayers()) {
            RouterTrace t = trace(m, RoutingPlan.of(new RouterEdit.ReplaceDistribution(layer, omega, PositionRange.at(pos))),
                    TraceSpec.routesAndProbabilities(PositionRange.ALL));
            float[] p = t.probabilities(0, pos, layer).orElseThrow().probabilities();
            for (int i = 0; i < e; i++) {
                assertThat(p[i]).as("layer %d expert %d", layer, i).isCloseTo(omega[i], within(1e-6f));
            }
            // mixing weights: ω itself without renormalisation (OLMoE), renormalised over the top-k (Mixtral)
            TokenRoute r = t.route(0, pos, layer).orElseThrow();
            float selected = 0;
            for (int x : r.experts()) {
                selected += omega[x];
            }
            for (int j = 0; j < r.experts().length; j++) {
                float want = m.info().renormalized() ? omega[r.experts()[j]] / selected : omega[r.experts()[j]];
                assertThat(r.weights()[j]).isCloseTo(want, within(1e-5f));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void deniedExpertsAreNeverSelectedWithWeight(String name) {
        Model m = TestModels.byName(name);
        int e = m.info().experts();
        RouterTrace base = trace(m, RoutingPlan.EMPTY, TraceSpec.ROUTES);
        int layer = m.info().moeLayers().get(1);
        int popular = base.routes().stream().filter(r -> r.layer() == layer).mapToInt(r -> r.experts()[0]).findFirst().orElseThrow();
        RouterTrace masked = trace(m, RoutingPlan.of(RouterEdit.ExpertMask.deny(layer, e, PositionRange.ALL, popular)), TraceSpec.ROUTES);
        assertThat(masked.routes().stream().filter(r -> r.layer() == layer))
                .allSatisfy(r -> assertThat(r.weightOf(popular)).isLessThan(1e-6f));
        RouterTrace only = trace(m, RoutingPlan.of(RouterEdit.ExpertMask.allow(layer, e, PositionRange.ALL, popular)), TraceSpec.ROUTES);
        assertThat(only.routes().stream().filter(r -> r.layer() == layer))
                .allSatisfy(r -> assertThat(r.experts()[0]).isEqualTo(popular));
    }

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void weightScalesKeepTheTopMWeightsUnrenormalised(String name) {
        Model m = TestModels.byName(name);
        int layer = m.info().moeLayers().get(0);
        int k = m.info().expertsUsed();
        RouterTrace base = trace(m, RoutingPlan.EMPTY, TraceSpec.ROUTES);
        // SCMoE's raw top-1 weak view: the first choice keeps its own weight, the others get none
        RouterTrace weak = trace(m, RoutingPlan.of(RouterEdit.ScaleWeights.keepTop(layer, k, 1, PositionRange.ALL)), TraceSpec.ROUTES);
        List<TokenRoute> routes = weak.routes().stream().filter(r -> r.layer() == layer).toList();
        assertThat(routes).hasSize(m.tokenize(PROMPT).length);
        for (TokenRoute w : routes) {
            TokenRoute b = base.route(0, w.position(), layer).orElseThrow();
            assertThat(w.experts()).containsExactly(b.experts());
            assertThat(w.weights()[0]).isEqualTo(b.weights()[0]).isLessThan(1f);
            for (int j = 1; j < k; j++) {
                assertThat(w.weights()[j]).isZero();
            }
        }
        // and the output follows the scaled weights
        assertThat(Arrays.equals(run(m, RoutingPlan.of(RouterEdit.ScaleWeights.keepTop(layer, k, 1, PositionRange.ALL)))[0],
                run(m, RoutingPlan.EMPTY)[0])).isFalse();
    }
}
