package dev.moeadapter.serving.policy;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.engine.Gating;
import dev.moeadapter.core.engine.LayerRouting;
import dev.moeadapter.core.engine.Memory;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.rerouting.ReroutingSettings;
import dev.moeadapter.rerouting.ReroutingStrategy;
import dev.moeadapter.scmoe.ScmoeSettings;
import dev.moeadapter.scmoe.ScmoeStrategy;
import dev.moeadapter.serving.AdaptationRegistry;
import dev.moeadapter.serving.BadParameterException;
import dev.moeadapter.serving.ServingConfigException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Assignment by policy: weights, stickiness, overrides, and configuration mistakes named by their setting. */
class PolicyRouterTest {
    /** An OLMoE-like model: 16 experts, 4 used per token, 3 MoE layers. */
    private static final ModelInfo MODEL = ModelInfo.of("olmoe", "", 3, 16, 4, 100, 256, 8, 1, 2, true, Memory.ATTENTION,
            IntStream.range(0, 3).mapToObj(l -> new LayerRouting(l, Gating.SOFTMAX, false, false, 16, true, false)).toList());
    private final AdaptationRegistry registry = new AdaptationRegistry(List.of(new PlainGeneration(), new ScmoeStrategy(ScmoeSettings.DEFAULTS),
            new ReroutingStrategy(ReroutingSettings.DEFAULTS, dev.moeadapter.core.adaptation.ResultCache.NONE)));

    /**
     * A router from settings written as the configuration's paths, e.g. {@code policies.ab.arms.x.weight=2},
     * {@code default-policy=ab}, {@code selectable-policies=lab}.
     */
    private PolicyRouter router(String... settings) {
        return router(MODEL, settings);
    }

    private PolicyRouter router(ModelInfo model, String... settings) {
        Map<String, Map<String, Map<String, String>>> arms = new LinkedHashMap<>();
        Map<String, Boolean> overrides = new LinkedHashMap<>();
        PolicyRouter.Builder b = PolicyRouter.builder(registry, model);
        for (String setting : settings) {
            String key = setting.substring(0, setting.indexOf('=')), value = setting.substring(setting.indexOf('=') + 1);
            String[] path = key.split("\\.", 5);
            switch (path[0]) {
                case "default-policy" -> b.defaultPolicy(value);
                case "selectable-policies" -> b.selectable(List.of(value.split(",")));
                case "policies" -> {
                    if (path[2].equals("allow-override")) {
                        overrides.put(path[1], Boolean.parseBoolean(value));
                    } else {
                        arms.computeIfAbsent(path[1], p -> new LinkedHashMap<>()).computeIfAbsent(path[3], a -> new LinkedHashMap<>())
                                .put(path[4], value);
                    }
                }
                default -> throw new IllegalArgumentException(key);
            }
        }
        arms.forEach((policy, byArm) -> {
            Map<String, PolicySpec.ArmSpec> specs = new LinkedHashMap<>();
            byArm.forEach((arm, fields) -> {
                Map<String, String> armSettings = new LinkedHashMap<>();
                fields.forEach((f, v) -> {
                    if (f.startsWith("settings.")) {
                        armSettings.put(f.substring("settings.".length()), v);
                    }
                });
                specs.put(arm, new PolicySpec.ArmSpec(fields.get("adaptation"), Double.parseDouble(fields.getOrDefault("weight", "1")),
                        armSettings, fields.containsKey("time-budget") ? Duration.parse("PT" + fields.get("time-budget")) : null, null));
            });
            b.policy(policy, new PolicySpec(overrides.getOrDefault(policy, false), specs));
        });
        return b.build();
    }

    private PolicyRouter abTest() {
        return router("policies.ab.arms.control.adaptation=none", "policies.ab.arms.control.weight=1",
                "policies.ab.arms.contrast.adaptation=scmoe", "policies.ab.arms.contrast.weight=3",
                "policies.ab.arms.contrast.settings.beta=0.25",
                "policies.ab.arms.contrast.time-budget=2s");
    }

    @Test
    void weightsAreRespectedOverManyCallers() {
        PolicyRouter r = abTest();
        int n = 10_000;
        long contrast = IntStream.range(0, n).filter(i -> r.assign(null, "caller-" + i, null, StrategySettings.NONE).arm().name().equals("contrast")).count();
        // weight 3 of 4; the binomial standard deviation is 0.0043, the tolerance about 4.6 of them
        assertThat(contrast / (double) n).isCloseTo(0.75, within(0.02));
        long random = IntStream.range(0, n).filter(i -> r.assign(null, null, null, StrategySettings.NONE).arm().name().equals("contrast")).count();
        assertThat(random / (double) n).isCloseTo(0.75, within(0.02));
    }

    @Test
    void aCallerKeepsItsArmAndTheArmCarriesItsSettings() {
        PolicyRouter r = abTest(), restarted = abTest();
        for (int i = 0; i < 50; i++) {
            Assignment first = r.assign("ab", "caller-" + i, null, StrategySettings.NONE);
            assertThat(first.basis()).isEqualTo(Assignment.Basis.CALLER);
            for (int k = 0; k < 5; k++) {
                assertThat(restarted.assign(null, "caller-" + i, null, StrategySettings.NONE).arm().name()).isEqualTo(first.arm().name());
            }
        }
        Arm contrast = r.defaultPolicy().arm("contrast");
        assertThat(((ScmoeStrategy) contrast.strategy()).settings().beta()).isEqualTo(0.25f);
        assertThat(contrast.timeBudget()).hasSeconds(2);
        assertThat(r.defaultPolicy().arm("control").timeBudget()).hasSeconds(30);
        assertThat(r.assign(null, "  ", null, StrategySettings.NONE).basis()).isEqualTo(Assignment.Basis.RANDOM);
    }

    @Test
    void overridesOnlyWhereThePolicyAllowsThem() {
        assertThatThrownBy(() -> abTest().assign(null, "c", "control", StrategySettings.NONE))
                .isInstanceOf(OverrideNotAllowedException.class).hasMessageContaining("may not name its arm");
        assertThatThrownBy(() -> abTest().assign(null, "c", null, StrategySettings.of(Map.of("beta", 1))))
                .isInstanceOf(OverrideNotAllowedException.class).hasMessageContaining("settings");
        PolicyRouter open = router("policies.open.allow-override=true", "policies.open.arms.plain.adaptation=none",
                "policies.open.arms.scmoe.adaptation=scmoe", "policies.open.arms.scmoe.weight=0");
        Assignment a = open.assign("open", "c", "scmoe", StrategySettings.of(Map.of("beta", 0.9)));
        assertThat(a.basis()).isEqualTo(Assignment.Basis.REQUEST);
        assertThat(((ScmoeStrategy) a.strategy()).settings().beta()).isEqualTo(0.9f);
        assertThat(open.assign("open", "c", null, StrategySettings.NONE).arm().name()).as("weight 0: only on request").isEqualTo("plain");
        assertThatThrownBy(() -> open.assign("open", "c", "nope", StrategySettings.NONE))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("no arm 'nope'");
        assertThatThrownBy(() -> open.assign("closed", "c", null, StrategySettings.NONE))
                .isInstanceOf(OverrideNotAllowedException.class).hasMessageContaining("policy 'closed' cannot be named by a request");
    }

    @Test
    void withoutPoliciesEveryAdaptationIsAnArmOnRequest() {
        PolicyRouter r = router();
        assertThat(r.defaultPolicy().name()).isEqualTo("default");
        assertThat(r.defaultPolicy().allowOverride()).isTrue();
        assertThat(r.defaultPolicy().arms()).extracting(Arm::name).containsExactly("none", "rerouting", "scmoe");
        assertThat(r.assign(null, "anyone", null, StrategySettings.NONE).arm().adaptation()).isEqualTo("none");
    }

    /** The same routing on a hybrid memory (LFM2-MoE style). */
    private static final ModelInfo HYBRID = ModelInfo.of("lfm2moe", "", 3, 16, 4, 100, 256, 8, 1, 2, true, Memory.HYBRID, MODEL.routing());
    /** Layer 0 hash-routed (DeepSeek-V4 style). */
    private static final ModelInfo HASHED = ModelInfo.of("deepseek4", "", 3, 16, 4, 100, 256, 8, 1, 2, true, Memory.ATTENTION,
            IntStream.range(0, 3).mapToObj(l -> new LayerRouting(l, Gating.SOFTMAX, false, false, 16, l > 0, false)).toList());

    @Test
    void anArmTheModelCannotRunFailsNamingTheSettingThatAsksForItOrElseTheAdaptation() {
        assertThat(router(HYBRID, "policies.ab.arms.x.adaptation=rerouting").maxSequences()).as("over the whole context: no rollback")
                .isEqualTo(10);
        assertThatThrownBy(() -> router(HYBRID, "policies.ab.arms.x.adaptation=rerouting", "policies.ab.arms.x.settings.window=32"))
                .isInstanceOf(ServingConfigException.class)
                .hasMessageStartingWith("policies.ab.arms.x.settings.window: rerouting with a loss window shares the context's older tokens")
                .hasMessageContaining("hybrid memory (lfm2moe) cannot do");
        assertThatThrownBy(() -> router(HASHED, "policies.ab.arms.x.adaptation=scmoe"))
                .isInstanceOf(ServingConfigException.class)
                .hasMessageStartingWith("policies.ab.arms.x.adaptation: scmoe edits the router of every MoE layer; "
                        + "this model's layer 0 is hash-routed");
    }

    @Test
    void withoutPoliciesAnAdaptationTheModelCannotRunIsLeftOutAndARequestNamingItGetsTheReason() {
        PolicyRouter r = router(HASHED);
        assertThat(r.defaultPolicy().arms()).extracting(Arm::name).containsExactly("none");
        assertThatThrownBy(() -> r.assign(null, null, "rerouting", StrategySettings.NONE))
                .isInstanceOfSatisfying(BadParameterException.class, e -> assertThat(e.param()).isEqualTo("arm"))
                .hasMessage("adaptation 'rerouting' cannot run on this model: rerouting edits the router of every MoE layer; "
                        + "this model's layer 0 is hash-routed (its experts come from the token id), so it has no router to edit");
        assertThat(router(HYBRID).defaultPolicy().arms()).extracting(Arm::name).containsExactly("none", "rerouting", "scmoe");
    }

    @Test
    void configurationMistakesNameTheSetting() {
        assertThatThrownBy(() -> router("policies.ab.arms.x.adaptation=c3po"))
                .isInstanceOfSatisfying(ServingConfigException.class, e -> assertThat(e.path()).isEqualTo("policies.ab.arms.x.adaptation"))
                .hasMessageContaining("policies.ab.arms.x.adaptation").hasMessageContaining("no adaptation 'c3po'");
        assertThatThrownBy(() -> router("policies.ab.arms.x.adaptation=scmoe", "policies.ab.arms.x.settings.gamma=1"))
                .hasMessageContaining("policies.ab.arms.x.settings").hasMessageContaining("unknown scmoe setting 'gamma'");
        assertThatThrownBy(() -> router("policies.ab.arms.x.adaptation=none", "policies.ab.arms.x.weight=0"))
                .hasMessageContaining("policies.ab.arms").hasMessageContaining("positive weight");
        assertThatThrownBy(() -> router("policies.ab.arms.x.adaptation=none", "default-policy=ba"))
                .hasMessageContaining("default-policy").hasMessageContaining("no policy 'ba'");
        assertThatThrownBy(() -> router("policies.a.arms.x.adaptation=none", "policies.b.arms.x.adaptation=none"))
                .hasMessageContaining("default-policy: set it to one of");
        assertThatThrownBy(() -> router("policies.ab.arms.x.adaptation=none", "policies.ab.arms.x.time-budget=0s"))
                .hasMessageContaining("policies.ab.arms.x.time-budget");
        // checked against the model, not first at a request: this model has 16 experts
        assertThatThrownBy(() -> router("policies.ab.arms.x.adaptation=scmoe", "policies.ab.arms.x.settings.weak=rank:99"))
                .hasMessageContaining("policies.ab.arms.x.settings").hasMessageContaining("k must be in 1..16");
        assertThatThrownBy(() -> router("policies.ab.arms.x.adaptation=rerouting",
                "policies.ab.arms.x.settings.q=2147483647"))
                .hasMessageContaining("policies.ab.arms.x.settings").hasMessageContaining("'q' must be in 1..64");
        assertThatThrownBy(() -> router("policies.ab.arms.x.adaptation=none", "selectable-policies=lab"))
                .hasMessageContaining("selectable-policies").hasMessageContaining("no policy 'lab'");
    }

    @Test
    void sessionsAreSizedForTheArmsConfigured() {
        assertThat(router("policies.ab.arms.x.adaptation=rerouting", "policies.ab.arms.x.settings.q=8")
                .maxSequences()).isEqualTo(18);
        assertThat(router("policies.ab.arms.x.adaptation=scmoe").maxSequences()).isEqualTo(2);
        assertThat(router().maxSequences()).as("every adaptation at its defaults: rerouting's 2 + 2q").isEqualTo(10);
    }

    @Test
    void aRequestNamesOnlyTheDefaultPolicyOrASelectableOne() {
        String[] two = {"default-policy=ab", "policies.ab.arms.x.adaptation=none",
                "policies.lab.allow-override=true", "policies.lab.arms.y.adaptation=scmoe"};
        PolicyRouter closed = router(two);
        assertThat(closed.assign("ab", "c", null, StrategySettings.NONE).policy().name()).isEqualTo("ab");
        assertThatThrownBy(() -> closed.assign("lab", "c", "y", StrategySettings.NONE))
                .isInstanceOf(OverrideNotAllowedException.class).hasMessage("policy 'lab' cannot be named by a request; a request may name: [ab]");
        assertThatThrownBy(() -> closed.assign("nope", "c", "y", StrategySettings.NONE)).as("a name no policy has: the same answer")
                .isInstanceOf(OverrideNotAllowedException.class).hasMessage("policy 'nope' cannot be named by a request; a request may name: [ab]");
        String[] open = java.util.Arrays.copyOf(two, two.length + 1);
        open[two.length] = "selectable-policies=lab";
        assertThat(router(open).assign("lab", "c", "y", StrategySettings.NONE).arm().adaptation()).isEqualTo("scmoe");
    }
}
