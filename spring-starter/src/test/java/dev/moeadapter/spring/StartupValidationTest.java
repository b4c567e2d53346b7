package dev.moeadapter.spring;

import dev.moeadapter.c3po.Algorithm;
import dev.moeadapter.c3po.C3poSettings;
import dev.moeadapter.c3po.C3poStrategy;
import dev.moeadapter.c3po.Injection;
import dev.moeadapter.core.adaptation.ResultCache;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import dev.moeadapter.rerouting.ReroutingStrategy;
import dev.moeadapter.scmoe.ScmoeStrategy;
import dev.moeadapter.serving.AdaptationRegistry;
import dev.moeadapter.serving.generation.SessionPool;
import dev.moeadapter.serving.policy.PolicyRouter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/** Wrong settings fail at startup with a message that names the property. */
class StartupValidationTest {
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(MoeAdapterAutoConfiguration.class));

    private String model() {
        return TestModels.file(RandomModels.Spec.olmoe()).toString();
    }

    @Test
    void aMissingModelFileNamesTheProperty() {
        runner.withPropertyValues("moe.adapter.model=/no/such/model.gguf").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).rootCause().hasMessageContaining("model file not found");
            assertThat(ctx.getStartupFailure()).hasStackTraceContaining("moe.adapter.model");
        });
    }

    @Test
    void outOfRangeNumbersNameTheProperty() {
        runner.withPropertyValues("moe.adapter.model=" + model(), "moe.adapter.sessions=65", "moe.adapter.sampling.top-p=1.5")
                .run(ctx -> {
                    assertThat(ctx).hasFailed();
                    assertThat(ctx.getStartupFailure()).hasStackTraceContaining("sessions").hasStackTraceContaining("sampling.topP");
                });
    }

    @Test
    void settingsThatWouldFailEveryRequestFailStartupInstead() {
        String[] base = {"moe.adapter.model=" + model(), "moe.adapter.threads=1", "moe.adapter.context-size=128",
                "moe.adapter.batch-size=32", "moe.adapter.sessions=1"};
        record Case(String property, String message) {
        }
        for (Case c : new Case[]{
                new Case("moe.adapter.guards.time-budget=0s", "moe.adapter.guards.time-budget must be positive"),
                new Case("moe.adapter.limits.max-request-size=0", "moe.adapter.limits.max-request-size must be positive"),
                new Case("moe.adapter.stream-keep-alive=0s", "moe.adapter.stream-keep-alive must be positive"),
                new Case("moe.adapter.security.trusted-proxies=gateway.local", "moe.adapter.security.trusted-proxies")}) {
            runner.withPropertyValues(base).withPropertyValues(c.property()).run(ctx -> {
                assertThat(ctx).as(c.property()).hasFailed();
                assertThat(ctx.getStartupFailure()).as(c.property()).hasStackTraceContaining(c.message());
            });
        }
        runner.withPropertyValues(base).withPropertyValues("moe.adapter.policies.ab.arms.x.adaptation=scmoe",
                "moe.adapter.policies.ab.arms.x.settings.weak=rank:99").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).hasStackTraceContaining("moe.adapter.policies.ab.arms.x.settings")
                    .hasStackTraceContaining("k must be in 1..16");
        });
    }

    /** README, "Which method runs on which model": a combination that cannot work is refused at startup, with the reason. */
    @Test
    void aMethodTheModelCannotRunFailsStartupWithTheReasonNamedByItsProperty() {
        String[] lfm2moe = {"moe.adapter.model=" + TestModels.file(RandomModels.Spec.lfm2moe()), "moe.adapter.threads=1",
                "moe.adapter.context-size=128", "moe.adapter.batch-size=32", "moe.adapter.sessions=1",
                "moe.adapter.policies.ab.arms.x.adaptation=rerouting"};
        runner.withPropertyValues(lfm2moe).withPropertyValues("moe.adapter.policies.ab.arms.x.settings.window=32").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).hasStackTraceContaining("moe.adapter.policies.ab.arms.x.settings.window: "
                    + "rerouting with a loss window shares the context's older tokens").hasStackTraceContaining("hybrid memory (lfm2moe) cannot do");
        });
        // over the whole context rerouting only empties whole sequences, which a hybrid memory allows
        runner.withPropertyValues(lfm2moe).run(ctx -> assertThat(ctx).hasNotFailed());

        Model qwen3next = TestModels.byName("qwen3next");
        runner.withPropertyValues("moe.adapter.model=" + qwen3next.path(), "moe.adapter.threads=1", "moe.adapter.context-size=128",
                "moe.adapter.batch-size=32", "moe.adapter.sessions=1", "moe.adapter.c3po.reference-set=" + ReferenceSets.empty(qwen3next))
                .run(ctx -> {
                    assertThat(ctx).hasFailed();
                    assertThat(ctx.getStartupFailure()).hasStackTraceContaining("moe.adapter.c3po.reference-set: c3po shares a prompt's prefix")
                            .hasStackTraceContaining("hybrid memory (qwen3next) cannot do");
                });
    }

    @Test
    void sessionsHoldTheSequencesTheConfiguredArmsNeed() {
        runner.withPropertyValues("moe.adapter.model=" + model(), "moe.adapter.threads=1", "moe.adapter.context-size=128",
                "moe.adapter.batch-size=32", "moe.adapter.sessions=1", "moe.adapter.policies.ab.arms.x.adaptation=rerouting",
                "moe.adapter.policies.ab.arms.x.settings.q=8").run(ctx -> {
            assertThat(ctx).hasNotFailed();
            assertThat(ctx.getBean(SessionPool.class).sequences()).as("2 + 2q").isEqualTo(18);
        });
    }

    @Test
    void byDefaultConcurrentDecodesTimesThreadsFitTheProcessors() {
        MoeAdapterProperties defaults = new org.springframework.boot.context.properties.bind.Binder(
                new org.springframework.boot.context.properties.source.MapConfigurationPropertySource(java.util.Map.of("moe.adapter.model", "m")))
                .bindOrCreate("moe.adapter", MoeAdapterProperties.class);
        for (int processors : new int[]{1, 2, 3, 8, 64}) {
            int sessions = defaults.effectiveSessions(processors), threads = defaults.effectiveThreads(processors);
            assertThat(sessions * threads).as(processors + " processors").isLessThanOrEqualTo(processors);
            assertThat(sessions).isPositive();
            assertThat(threads).isPositive();
        }
        assertThat(defaults.effectiveSessions(2) * defaults.effectiveThreads(2)).isEqualTo(2);
    }

    @Test
    @ExtendWith(OutputCaptureExtension.class)
    void moreDecodingThreadsThanProcessorsAreWarnedAbout(CapturedOutput output) {
        int processors = Runtime.getRuntime().availableProcessors();
        runner.withPropertyValues("moe.adapter.model=" + model(), "moe.adapter.threads=" + (processors + 1), "moe.adapter.sessions=1",
                "moe.adapter.context-size=128", "moe.adapter.batch-size=32").run(ctx -> {
            assertThat(ctx).hasNotFailed();
            assertThat(output.getAll()).contains("threads decoding at once on " + processors + " processors");
        });
    }

    @Test
    void theNativeBuildsCacheVariableDoesNotBreakTheProperties() {
        // MOE_ADAPTER_CACHE (where the build keeps llama.cpp) reaches Spring as moe.adapter.cache by relaxed binding
        runner.withPropertyValues("moe.adapter.model=" + model(), "moe.adapter.threads=1", "moe.adapter.context-size=128",
                "moe.adapter.batch-size=32", "moe.adapter.sessions=1", "moe.adapter.cache=/some/download/cache",
                "moe.adapter.result-cache.max-entries=7").run(ctx -> {
            assertThat(ctx).hasNotFailed();
            assertThat(ctx.getBean(MoeAdapterProperties.class).resultCache().maxEntries()).isEqualTo(7);
        });
    }

    @Test
    void theBeansAreThereAndReplaceable() {
        runner.withPropertyValues("moe.adapter.model=" + model(), "moe.adapter.threads=1", "moe.adapter.context-size=128",
                "moe.adapter.batch-size=32", "moe.adapter.sessions=1").run(ctx -> {
            assertThat(ctx).hasNotFailed();
            assertThat(ctx).hasSingleBean(Model.class).hasSingleBean(SessionPool.class)
                    .hasSingleBean(PolicyRouter.class).hasSingleBean(ResultCache.class).hasBean("moeAdapterHealthIndicator");
            AdaptationRegistry registry = ctx.getBean(AdaptationRegistry.class);
            assertThat(registry.names()).containsExactly("none", "rerouting", "scmoe", "steer");
            assertThat(registry.get("scmoe")).isInstanceOf(ScmoeStrategy.class);
            assertThat(registry.get("rerouting")).isInstanceOf(ReroutingStrategy.class);
            assertThat(registry.unavailable()).containsOnlyKeys("c3po");
            assertThat(ctx.getBean(SessionPool.class).size()).isEqualTo(1);
        });
        runner.withPropertyValues("moe.adapter.model=" + model(), "moe.adapter.threads=1", "moe.adapter.context-size=128",
                        "moe.adapter.batch-size=32", "moe.adapter.sessions=1")
                .withBean("scmoeStrategy", ScmoeStrategy.class, () -> new ScmoeStrategy(dev.moeadapter.scmoe.ScmoeSettings.DEFAULTS.withBeta(0.9f)))
                .run(ctx -> assertThat(((ScmoeStrategy) ctx.getBean(AdaptationRegistry.class).get("scmoe")).settings().beta())
                        .as("the application's own strategy replaces the module's").isEqualTo(0.9f));
    }

    @Test
    void c3poIsThereWhenAReferenceSetForTheServedModelIsNamed() {
        String refs = ReferenceSets.build(TestModels.olmoe(), ReferenceSets.PROMPTS).toString();
        String[] base = {"moe.adapter.model=" + model(), "moe.adapter.threads=1", "moe.adapter.context-size=128",
                "moe.adapter.batch-size=32", "moe.adapter.sessions=1"};
        runner.withPropertyValues(base).withPropertyValues("moe.adapter.c3po.reference-set=" + refs, "moe.adapter.c3po.algorithm=kr")
                .run(ctx -> {
                    assertThat(ctx).hasNotFailed();
                    assertThat(ctx.getBean(AdaptationRegistry.class).names()).containsExactly("c3po", "none", "rerouting", "scmoe", "steer");
                    C3poStrategy c3po = (C3poStrategy) ctx.getBean(AdaptationRegistry.class).get("c3po");
                    assertThat(c3po.settings().algorithm()).isInstanceOf(Algorithm.KernelRegression.class);
                    assertThat(c3po.settings().lossTokens()).as("the method's own default").isEqualTo(C3poSettings.DEFAULTS.lossTokens());
                    assertThat(c3po.referenceSet().size()).isEqualTo(ReferenceSets.PROMPTS.size());
                    assertThat(ctx.getBean(SessionPool.class).size()).isEqualTo(1);
                });
        runner.withPropertyValues(base).withPropertyValues("moe.adapter.c3po.reference-set=" + refs, "moe.adapter.c3po.algorithm=kr-paper",
                        "moe.adapter.c3po.loss-tokens=3")
                .run(ctx -> {
                    assertThat(ctx).hasNotFailed();
                    C3poStrategy c3po = (C3poStrategy) ctx.getBean(AdaptationRegistry.class).get("c3po");
                    assertThat(c3po.settings().algorithm()).isInstanceOf(Algorithm.PaperKernelRegression.class);
                    assertThat(c3po.settings().lossTokens()).isEqualTo(3);
                });
        runner.withPropertyValues(base).run(ctx -> assertThat(ctx.getBean(AdaptationRegistry.class).names()).doesNotContain("c3po"));
        String otherModel = ReferenceSets.build(TestModels.mixtral(), ReferenceSets.PROMPTS).toString();
        runner.withPropertyValues(base).withPropertyValues("moe.adapter.c3po.reference-set=" + otherModel).run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).hasStackTraceContaining("moe.adapter.c3po.reference-set")
                    .hasStackTraceContaining("built for another model");
        });
        runner.withPropertyValues(base).withPropertyValues("moe.adapter.c3po.reference-set=" + refs, "moe.adapter.c3po.algorithm=oracle")
                .run(ctx -> assertThat(ctx.getStartupFailure()).hasStackTraceContaining("moe.adapter.c3po: c3po setting 'algorithm' must be kr, kr-paper, mode or ngd"));
        // the properties are c3po's settings, read by its schema: same names, ranges and refusals as an arm's
        runner.withPropertyValues(base).withPropertyValues("moe.adapter.c3po.reference-set=" + refs, "moe.adapter.c3po.k=2",
                        "moe.adapter.c3po.inject=last", "moe.adapter.c3po.min-references=2").run(ctx -> {
                    assertThat(ctx).hasNotFailed();
                    C3poSettings s = ((C3poStrategy) ctx.getBean(AdaptationRegistry.class).get("c3po")).settings();
                    assertThat(s.neighbours()).isEqualTo(2);
                    assertThat(s.injection()).isEqualTo(Injection.LAST_PROMPT_TOKEN);
                    assertThat(s.minReferences()).isEqualTo(2);
                });
        runner.withPropertyValues(base).withPropertyValues("moe.adapter.c3po.reference-set=" + refs, "moe.adapter.c3po.k=65")
                .run(ctx -> assertThat(ctx.getStartupFailure()).hasStackTraceContaining("moe.adapter.c3po: c3po setting 'k' must be in 1..64"));
        runner.withPropertyValues(base).withPropertyValues("moe.adapter.c3po.reference-set=" + refs, "moe.adapter.c3po.neighbours=2")
                .run(ctx -> assertThat(ctx.getStartupFailure()).hasStackTraceContaining("is spelled moe.adapter.c3po.k"));
    }

    @Test
    void anArmNamingAMissingAdaptationFailsStartup() {
        runner.withPropertyValues("moe.adapter.model=" + model(), "moe.adapter.threads=1", "moe.adapter.context-size=128",
                "moe.adapter.batch-size=32", "moe.adapter.sessions=1", "moe.adapter.policies.ab.arms.smart.adaptation=oracle").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).hasStackTraceContaining("moe.adapter.policies.ab.arms.smart.adaptation")
                    .hasStackTraceContaining("no adaptation 'oracle'");
        });
    }

    @Test
    void withoutAModelPropertyNothingIsConfigured() {
        runner.run(ctx -> assertThat(ctx).doesNotHaveBean(Model.class));
    }
}
