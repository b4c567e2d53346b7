package dev.moeadapter.it;

import org.springframework.test.context.TestPropertySource;

/** Every test of {@link StreamFlushTest}, with requests decoding in lanes of the continuous-batching loop. */
@TestPropertySource(properties = "moe.adapter.batching-lanes=2")
class BatchedStreamFlushTest extends StreamFlushTest {

    /** In one cache of every lane's and kept prompt's cells each row's attention would span them all. */
    @Override
    String defaultKvLayout() {
        return "per-sequence";
    }
}
