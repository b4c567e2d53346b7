package dev.moeadapter.it;

import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link BatchedServiceTest} on a hybrid model (the random-weight Qwen3-Next fixture: attention beside a
 * recurrent state that llama.cpp copies whole and cannot cut back): concurrent requests of every arm
 * still answer as each does alone, the loop runs greedy rows ahead, and a prompt repeated a third time
 * shares the state the second kept where it parted from the first's prompt and answer (a kept state is
 * shared only whole).
 */
class HybridModelBatchedServiceTest extends BatchedServiceTest {
    @DynamicPropertySource
    static void hybridModel(DynamicPropertyRegistry r) {
        r.add("it.model", () -> TestModels.file(RandomModels.Spec.qwen3next()).toString());
    }

    @Test
    void theServiceRunsTheHybridModel() throws Exception {
        assertThat(json(get("/v1/moe/info").body()).at("/memory").asString()).isEqualTo("hybrid");
    }
}
