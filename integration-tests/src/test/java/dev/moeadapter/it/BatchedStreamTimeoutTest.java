package dev.moeadapter.it;

import org.springframework.test.context.TestPropertySource;

/** {@link StreamTimeoutTest} with the answer decoding in a lane of the continuous-batching loop. */
@TestPropertySource(properties = "moe.adapter.batching-lanes=1")
class BatchedStreamTimeoutTest extends StreamTimeoutTest {
}
