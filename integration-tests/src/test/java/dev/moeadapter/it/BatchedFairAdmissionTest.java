package dev.moeadapter.it;

import org.springframework.test.context.TestPropertySource;

/**
 * Every test of {@link FairAdmissionTest}, with requests decoding in the continuous-batching loop's one
 * lane: admission into lanes is as fair across callers as admission into sessions.
 */
@TestPropertySource(properties = "moe.adapter.batching-lanes=1")
class BatchedFairAdmissionTest extends FairAdmissionTest {
}
