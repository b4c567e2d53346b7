package dev.moeadapter.samples.lab;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The twin's sparse expert computation (training) gives the dense one's logits and gradients. */
class SparseExpertsTest {

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "mixtral"})
    void sparseEqualsDenseInValueAndGradient(String arch) {
        TwinShape shape = (arch.equals("olmoe") ? TwinShape.olmoeStyle() : TwinShape.mixtralStyle()).resized(32, 2, 16, 4, 8);
        List<LabItem> items = LabSuiteV2.trainingBatch(1, 1, 6, java.util.Set.of());
        try (NDManager m = NDManager.newBaseManager(); MoeTwin twin = MoeTwin.initialise(shape, m, 3)) {
            LabBatch b = LabBatch.of(m, items);
            float[][] logits = new float[2][];
            float[][] grads = new float[2][];
            for (int sparse = 0; sparse < 2; sparse++) {
                Map<String, NDArray> p = twin.parameters();
                p.values().forEach(a -> a.setRequiresGradient(true));
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    gc.zeroGradients();
                    NDArray out = twin.forward(b.tokens(), null, false, sparse == 1).logits();
                    gc.backward(LabTrainer.maskedNll(out, b.targets(), b.valid()));
                    logits[sparse] = out.toFloatArray();
                }
                grads[sparse] = p.get("blk.0.ffn_up_exps.weight").getGradient().toFloatArray();
            }
            for (int i = 0; i < logits[0].length; i++) assertThat(logits[1][i]).isCloseTo(logits[0][i], org.assertj.core.data.Offset.offset(1e-4f));
            double norm = 0;
            for (float g : grads[0]) norm = Math.max(norm, Math.abs(g));
            assertThat(norm).isGreaterThan(0);
            for (int i = 0; i < grads[0].length; i++) assertThat((double) grads[1][i]).isCloseTo(grads[0][i], org.assertj.core.data.Offset.offset(1e-4 * norm));
        }
    }
}
