package dev.moeadapter.it;

import org.springframework.test.context.TestPropertySource;

/**
 * Every arm on every endpoint of {@link EveryArmTest}, plain and streamed, in lanes of the
 * continuous-batching loop whose context keeps a KV stream per sequence: the methods' sequence
 * copies (rerouting's probes, C3PO's answer and neighbours) go to empty streams, and steps whose
 * rows carry plans reach the router callback in parts it can map.
 */
@TestPropertySource(properties = {"moe.adapter.batching-lanes=2", "moe.adapter.kv-layout=per-sequence"})
class PerSequenceEveryArmTest extends EveryArmTest {
}
