package dev.moeadapter.it;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link BatchedServiceTest} with a KV stream per sequence: concurrent requests of every arm share
 * the loop, plain answers equal those sent alone, the row bounds hold, and kept prompts are still
 * shared (copied whole into a request's empty sequence).
 */
@TestPropertySource(properties = "moe.adapter.kv-layout=per-sequence")
class PerSequenceBatchedServiceTest extends BatchedServiceTest {

    @Test
    void theServiceReportsTheLayout() throws Exception {
        assertThat(json(get("/v1/moe/info").body()).at("/capacity/kv_layout").asString()).isEqualTo("per-sequence");
    }
}
