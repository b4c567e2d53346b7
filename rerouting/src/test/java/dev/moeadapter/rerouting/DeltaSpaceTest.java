package dev.moeadapter.rerouting;

import dev.moeadapter.core.engine.Gating;
import dev.moeadapter.core.engine.LayerRouting;
import dev.moeadapter.core.engine.Memory;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.RoutingPlan;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Layer selection and the θ → δ maps, on hand-made routing statistics (4 MoE layers, 4 experts). */
class DeltaSpaceTest {
    private static final List<Integer> LAYERS = List.of(1, 3, 5, 7);
    private static final double[] SCORES = {1.0, 3.0, 2.0, 0.5};
    private static final double[][] MEAN = {
            {0.4, 0.3, 0.2, 0.1}, {0.25, 0.25, 0.25, 0.25}, {0.1, 0.6, 0.2, 0.1}, {0.7, 0.1, 0.1, 0.1}};
    private static final long[][] USAGE = {{9, 5, 5, 1}, {4, 4, 4, 4}, {0, 10, 6, 4}, {10, 3, 3, 4}};
    private static final ContextStatistics STATS = new ContextStatistics(LAYERS, SCORES, MEAN, USAGE);

    @Test
    void hardSelectionTakesTheTopFractionByScoreInLayerOrder() {
        assertThat(new LayerSelection.Top(0.5).select(STATS))
                .containsExactly(new LayerSelection.WeightedLayer(3, 1f), new LayerSelection.WeightedLayer(5, 1f));
        assertThat(new LayerSelection.Top(0.1).select(STATS)).as("at least one layer")
                .containsExactly(new LayerSelection.WeightedLayer(3, 1f));
        assertThat(new LayerSelection.Top(1.0).select(STATS)).hasSize(4);
    }

    @Test
    void softSelectionWeighsByMinMaxNormalisedScore() {
        List<LayerSelection.WeightedLayer> w = new LayerSelection.Soft().select(STATS);
        assertThat(w).extracting(LayerSelection.WeightedLayer::layer).containsExactly(1, 3, 5);
        assertThat(w.get(0).weight()).isCloseTo(0.2f, within(1e-6f));
        assertThat(w.get(1).weight()).isEqualTo(1f);
        assertThat(w.get(2).weight()).isCloseTo(0.6f, within(1e-6f));
    }

    @Test
    void fullDeltaHasOneEntryPerExpertOfEachLayer() {
        DeltaSpace space = DeltaSpace.of(settings(new LayerSelection.Top(0.5), new Parameterisation.Full()), STATS, 4);
        assertThat(space.dimension()).isEqualTo(8);
        assertThat(space.updateWeights()).isNull();
        float[] theta = {1, 2, 3, 4, 5, 6, 7, 8};
        RoutingPlan plan = space.plan(theta);
        assertThat(plan.edits()).hasSize(2);
        RouterEdit.AddDelta second = (RouterEdit.AddDelta) plan.edits().get(1);
        assertThat(second.layer()).isEqualTo(5);
        assertThat(second.delta()).containsExactly(5, 6, 7, 8);
    }

    @Test
    void topExpertsMovesOnlyTheMostUsedExperts() {
        DeltaSpace space = DeltaSpace.of(settings(new LayerSelection.Top(0.5), new Parameterisation.TopExperts(2)), STATS, 4);
        assertThat(space.dimension()).isEqualTo(4);
        float[][] d = space.deltas(new float[] {1, 2, 3, 4});
        // layer 3: all counts equal, so the tie goes by mean probability, then by index: experts 0 and 1
        assertThat(d[0]).containsExactly(1, 2, 0, 0);
        // layer 5: experts 1 (10) and 2 (6)
        assertThat(d[1]).containsExactly(0, 3, 4, 0);
        assertThat(DeltaSpace.of(settings(new LayerSelection.Top(1.0), new Parameterisation.TopExperts(99)), STATS, 4).dimension())
                .as("more experts than the model has means all of them").isEqualTo(16);
    }

    @Test
    void layerScalarMovesAlongTheCentredLogOfTheMeanRouting() {
        DeltaSpace space = DeltaSpace.of(settings(new LayerSelection.Soft(), new Parameterisation.LayerScalar()), STATS, 4);
        assertThat(space.dimension()).isEqualTo(3);
        assertThat(space.updateWeights()).containsExactly(0.2f, 1f, 0.6f);
        float[][] d = space.deltas(new float[] {2, 5, 1});
        double sum = 0, ss = 0;
        for (float v : d[0]) {
            sum += v;
            ss += v * v;
        }
        assertThat(sum).as("centred").isCloseTo(0, within(1e-5));
        assertThat(Math.sqrt(ss / 4)).as("RMS = |a|").isCloseTo(2, within(1e-5));
        assertThat(d[0][0]).as("sharpens toward the context's favourite expert").isGreaterThan(d[0][3]);
        assertThat(d[1]).as("a flat mean routing has no direction").containsOnly(0f);
    }

    @Test
    void layerScoresComeFromTheSelectedExpertsProbabilities() {
        ModelInfo info = ModelInfo.of("test", "", 2, 4, 2, 10, 64, 8, 1, 2, true, Memory.ATTENTION,
                List.of(new LayerRouting(1, Gating.SOFTMAX, false, false, 4, true, false)));
        RouterTrace trace = new RouterTrace(List.of(), List.of(
                new TokenProbabilities(3, 0, 1, new float[] {0.5f, 0.3f, 0.1f, 0.1f}),
                new TokenProbabilities(3, 1, 1, new float[] {0.1f, 0.2f, 0.3f, 0.4f}),
                new TokenProbabilities(0, 0, 1, new float[] {1f, 0f, 0f, 0f})));   // another sequence: ignored
        ContextStatistics stats = ContextStatistics.of(trace, info, 3);
        double expected = (-(Math.log(0.5) + Math.log(0.3)) / 2 - (Math.log(0.4) + Math.log(0.3)) / 2) / 2;
        assertThat(stats.score(0)).isCloseTo(expected, within(1e-6));
        assertThat(stats.usage()[0]).containsExactly(1, 1, 1, 1);
        assertThat(stats.meanProbabilities()[0][3]).isCloseTo(0.25, within(1e-6));
        assertThat(ContextStatistics.topK(new double[] {0.1, 0.5, 0.2, 0.5}, 3)).containsExactly(1, 3, 2);
    }

    private static ReroutingSettings settings(LayerSelection layers, Parameterisation p) {
        return ReroutingSettings.DEFAULTS.withLayers(layers).withParameterisation(p);
    }
}
