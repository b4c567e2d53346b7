package dev.moeadapter.core.adaptation;

import dev.moeadapter.core.engine.Gating;
import dev.moeadapter.core.engine.LayerRouting;
import dev.moeadapter.core.engine.Memory;
import dev.moeadapter.core.engine.ModelInfo;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The verdicts of method requirements over model descriptions, and the reasons they give. */
class ModelRequirementsTest {
    private static final ModelRequirements EDITS = ModelRequirements.routerEdits("edits");
    private static final ModelRequirements SOFTMAX_ONLY = ModelRequirements.routerEdits("c3po")
            .onlyGating(Set.of(Gating.SOFTMAX), "it re-mixes softmax distributions");
    private static final ModelRequirements WINDOWED = ModelRequirements.routerEdits("windowed")
            .rollingBackPrefixes("shares a prefix between its copies", "window");

    static LayerRouting layer(int index, Gating gating, boolean bias) {
        return new LayerRouting(index, gating, true, bias, 8, true, false);
    }

    static ModelInfo model(String architecture, Memory memory, LayerRouting... layers) {
        return ModelInfo.of(architecture, "", 4, layers.length == 0 ? 0 : 8, layers.length == 0 ? 0 : 2, 100, 256, 16, 1, 2, true,
                memory, List.of(layers));
    }

    @Test
    void plainGenerationRunsOnAnyModel() {
        ModelRequirements plain = ModelRequirements.none("none");
        for (ModelInfo m : List.of(model("llama", Memory.ATTENTION), model("mamba", Memory.RECURRENT),
                model("deepseek4", Memory.HYBRID, new LayerRouting(0, Gating.SQRT_SOFTPLUS, true, false, 8, false, false)))) {
            assertThat(plain.refusal(m)).as(m.architecture()).isEmpty();
        }
    }

    @Test
    void routerEditsRunOnEveryFamilyTheEngineEditsAndEitherMemory() {
        for (Gating g : ModelRequirements.EDITABLE) {
            for (Memory memory : Memory.values()) {
                for (boolean bias : new boolean[]{false, true}) {
                    assertThat(EDITS.refusal(model("x", memory, layer(0, g, bias), layer(1, g, bias)))).as("%s %s bias %s", g, memory, bias)
                            .isEmpty();
                }
            }
        }
    }

    @Test
    void routerEditsNeedMoeLayersEachWithAKnownRouter() {
        assertThat(EDITS.refusal(model("llama", Memory.ATTENTION))).hasValue("edits needs a Mixture-of-Experts model; 'llama' has no MoE layers");
        ModelInfo hashed = model("deepseek4", Memory.ATTENTION, new LayerRouting(0, Gating.SQRT_SOFTPLUS, true, false, 8, false, false),
                layer(1, Gating.SQRT_SOFTPLUS, true));
        assertThat(EDITS.refusal(hashed)).hasValueSatisfying(r -> assertThat(r).startsWith("edits edits the router of every MoE layer")
                .contains("layer 0 is hash-routed"));
        assertThat(EDITS.refusal(model("x", Memory.ATTENTION, layer(0, Gating.SOFTMAX, false), layer(1, Gating.OTHER, false))))
                .hasValueSatisfying(r -> assertThat(r).contains("softmax, sigmoid, softmax after top-k, sqrt-softplus gating")
                        .endsWith("this model's layer 1 uses an unknown gating"));
    }

    @Test
    void aMethodForFewerFamiliesNamesTheLayerAndItsFamily() {
        assertThat(SOFTMAX_ONLY.refusal(model("olmoe", Memory.ATTENTION, layer(0, Gating.SOFTMAX, false)))).isEmpty();
        assertThat(SOFTMAX_ONLY.refusal(model("ernie4_5-moe", Memory.ATTENTION, layer(0, Gating.SOFTMAX, true)))).as("a bias on selection only")
                .isEmpty();
        assertThat(SOFTMAX_ONLY.refusal(model("glm4moe", Memory.ATTENTION, layer(1, Gating.SOFTMAX, false), layer(3, Gating.SIGMOID, true))))
                .hasValue("c3po needs softmax gating on every MoE layer (it re-mixes softmax distributions); "
                        + "this model's layer 3 uses sigmoid gating with a selection bias");
        assertThat(SOFTMAX_ONLY.refusal(model("gpt-oss", Memory.ATTENTION, layer(0, Gating.SOFTMAX_WEIGHT, false))))
                .hasValueSatisfying(r -> assertThat(r).endsWith("layer 0 uses softmax after top-k gating"));
    }

    @Test
    void prefixRollbackNeedsAnAttentionMemoryAndNamesTheSettingThatAsksForIt() {
        assertThat(WINDOWED.refusal(model("olmoe", Memory.ATTENTION, layer(0, Gating.SOFTMAX, false)))).isEmpty();
        for (Memory memory : List.of(Memory.HYBRID, Memory.RECURRENT)) {
            ModelInfo m = model("lfm2moe", memory, layer(1, Gating.SIGMOID, true));
            String reason = WINDOWED.refusal(m).orElseThrow();
            assertThat(reason).startsWith("windowed shares a prefix between its copies, which this model's " + memory.name().toLowerCase()
                    + " memory (lfm2moe) cannot do").contains("one recurrent state per sequence").endsWith("setting 'window' that needs this");
            assertThatThrownBy(() -> WINDOWED.require(m)).isInstanceOfSatisfying(UnsupportedModelException.class, e -> {
                assertThat(e.getMessage()).isEqualTo(reason);
                assertThat(e.setting()).isEqualTo("window");
            });
        }
    }

    @Test
    void aRefusalForTheRoutingNamesNoSetting() {
        ModelInfo dense = model("llama", Memory.HYBRID);
        assertThatThrownBy(() -> WINDOWED.require(dense)).isInstanceOfSatisfying(UnsupportedModelException.class, e -> {
            assertThat(e.getMessage()).contains("has no MoE layers");
            assertThat(e.setting()).isNull();
        });
    }

    @Test
    void onlyFamiliesTheEngineEditsCanBeRequired() {
        assertThatThrownBy(() -> EDITS.onlyGating(Set.of(Gating.OTHER), "x")).isInstanceOf(IllegalArgumentException.class);
    }
}
