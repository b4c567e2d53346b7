package dev.moeadapter.it;

import org.springframework.test.context.TestPropertySource;

/**
 * Every stream, budget, departure and late-failure test of {@link StreamsAndBudgetsTest}, with the
 * request decoding in a lane of the continuous-batching loop instead of a session of its own.
 */
@TestPropertySource(properties = "moe.adapter.batching-lanes=1")
class BatchedStreamsAndBudgetsTest extends StreamsAndBudgetsTest {
}
