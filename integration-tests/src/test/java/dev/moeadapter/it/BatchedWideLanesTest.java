package dev.moeadapter.it;

import org.springframework.test.context.TestPropertySource;

/** Wide requests with continuous batching: 3 lanes of up to 3 sequences, one of them wide, hold 3 x 2 + 1 x 1 sequences. */
@TestPropertySource(properties = {"moe.adapter.batching-lanes=3", "moe.adapter.batching-wide-lanes=1"})
class BatchedWideLanesTest extends WideRequestsWaitTest {
    @Override
    int laneSequences() {
        return 7;
    }
}
