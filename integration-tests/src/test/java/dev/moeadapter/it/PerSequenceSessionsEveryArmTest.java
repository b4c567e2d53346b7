package dev.moeadapter.it;

import org.springframework.test.context.TestPropertySource;

/**
 * Every arm on every endpoint of {@link EveryArmTest} with one context per request (no decode loop)
 * whose KV cache keeps a stream per sequence: the methods' copies and plans work there as well.
 */
@TestPropertySource(properties = "moe.adapter.kv-layout=per-sequence")
class PerSequenceSessionsEveryArmTest extends EveryArmTest {
}
