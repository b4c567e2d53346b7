package dev.moeadapter.spring;

import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/** Security settings: wrong ones fail at startup naming the property; keys never show in text. */
class SecuritySettingsTest {
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(MoeAdapterAutoConfiguration.class))
            .withPropertyValues("moe.adapter.model=" + TestModels.file(RandomModels.Spec.olmoe()), "moe.adapter.threads=1",
                    "moe.adapter.context-size=128", "moe.adapter.batch-size=32", "moe.adapter.sessions=1");

    @Test
    void aBlankKeyOrAZeroPeriodNamesTheProperty() {
        runner.withPropertyValues("moe.adapter.security.api-keys[0]= ").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).hasStackTraceContaining("security.apiKeys");
        });
        runner.withPropertyValues("moe.adapter.security.rate-limit.period=0s").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).hasStackTraceContaining("moe.adapter.security.rate-limit.period must be positive");
        });
    }

    @Test
    void keysDoNotShowWhenTheSettingsArePrinted() {
        runner.withPropertyValues("moe.adapter.security.api-keys=secret-key-1,secret-key-2").run(ctx -> {
            MoeAdapterProperties props = ctx.getBean(MoeAdapterProperties.class);
            assertThat(props.security().apiKeys()).containsExactly("secret-key-1", "secret-key-2");
            assertThat(props.toString()).doesNotContain("secret-key").contains("apiKeys=2 configured");
        });
    }
}
