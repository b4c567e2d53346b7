package dev.moeadapter.it;

import org.springframework.test.context.TestPropertySource;

/** Every test of {@link StrictRequestsTest} (bad input, bounds, stop strings), with requests decoding in lanes of the continuous-batching loop. */
@TestPropertySource(properties = "moe.adapter.batching-lanes=2")
class BatchedStrictRequestsTest extends StrictRequestsTest {
}
