package dev.moeadapter.it;

import org.springframework.test.context.TestPropertySource;

/** Wide requests on sessions: 2 sessions, one of them wide (the default for two), the other of two sequences. */
@TestPropertySource(properties = {"moe.adapter.sessions=2"})
class WideSessionsTest extends WideRequestsWaitTest {
    @Override
    int laneSequences() {
        return -1;
    }
}
