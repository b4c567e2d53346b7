package dev.moeadapter.spring;

import dev.moeadapter.core.engine.KvCacheType;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** What {@code moe.adapter.batching-lanes=auto} chooses. */
class AutoBatchingTest {
    private static final long GIB = 1L << 30, MIB = 1L << 20;

    @Test
    void aSmallModelKeepsOneContextPerRequestWhateverTheMemory() {
        assertThat(new AutoBatching(5 * MIB, 1024, 1024 * GIB).lanes(9, 4096, 2)).isZero();
        assertThat(new AutoBatching(AutoBatching.MIN_MODEL_BYTES - 1, 1024, 1024 * GIB).lanes(9, 4096, 2)).isZero();
    }

    @Test
    void aLargeModelGetsAsManyLanesAsAQuarterOfTheMemoryHoldsUpToEight() {
        // 32 KiB per cell, 9 sequences of 512 cells: 144 MiB per lane, 16 MiB per kept prompt
        AutoBatching auto = new AutoBatching(400 * MIB, 32 * 1024, 24 * GIB);
        assertThat(auto.lanes(9, 512, 2)).isEqualTo(AutoBatching.MAX_LANES);
        // the same with 4,096 cells: 1,152 MiB per lane and 128 MiB per kept prompt, in 6 GiB: 5 lanes
        assertThat(auto.lanes(9, 4096, 2)).isEqualTo(5);
        // kept prompts take their share first
        assertThat(auto.lanes(9, 4096, 2)).isGreaterThan(auto.lanes(9, 4096, 20));
    }

    @Test
    void whereFewerThanTwoLanesFitTheSessionsStay() {
        // 2 GiB for lanes of 1,152 MiB beside two kept prompts: one lane would fit, and one lane is a session that queues
        assertThat(new AutoBatching(400 * MIB, 32 * 1024, 8 * GIB).lanes(9, 4096, 2)).isZero();
        assertThat(new AutoBatching(400 * MIB, 32 * 1024, 12 * GIB).lanes(9, 4096, 2)).isEqualTo(2);
    }

    @Test
    void aCellsBoundCountsEveryLayersKeyAndValue() {
        var info = TestModels.byName("olmoe").info();
        assertThat(AutoBatching.kvBytesPerCell(info, KvCacheType.F16)).isEqualTo(2L * info.layers() * info.embeddingSize() * 2);
        assertThat(AutoBatching.kvBytesPerCell(info, KvCacheType.F32)).isEqualTo(2 * AutoBatching.kvBytesPerCell(info, KvCacheType.F16));
    }
}
