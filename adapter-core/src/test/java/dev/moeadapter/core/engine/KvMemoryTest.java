package dev.moeadapter.core.engine;

import dev.moeadapter.core.EngineException;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A context whose KV cache would not fit in the memory left is refused before llama.cpp allocates and zeroes it. */
class KvMemoryTest {
    private static final Map<String, String> GLM = Map.of("general.architecture", "glm4moe", "glm4moe.block_count", "8",
            "glm4moe.attention.head_count", "16", "glm4moe.attention.head_count_kv", "4", "glm4moe.embedding_length", "1024");

    private static OptionalLong perCell(Map<String, String> metadata, KvCacheType type) {
        return KvMemory.bytesPerCell(k -> Optional.ofNullable(metadata.get(k)), type);
    }

    @Test
    void bytesPerCellAreLayersTimesTheKvHeadsKeysAndValues() {
        // the benchmark model's metadata: llama.cpp asked for 85,899,345,920 bytes for 10,485,760 cells of it, 8,192 each
        assertThat(perCell(GLM, KvCacheType.F16)).hasValue(8 * 4 * (64 + 64) * 2);
        assertThat(perCell(GLM, KvCacheType.F32)).hasValue(8 * 4 * (64 + 64) * 4);
        Map<String, String> widths = new java.util.HashMap<>(GLM);
        widths.put("glm4moe.attention.key_length", "128");
        widths.put("glm4moe.attention.value_length", "96");
        assertThat(perCell(widths, KvCacheType.F16)).hasValue(8 * 4 * (128 + 96) * 2);
    }

    @Test
    void whereTheMetadataDoesNotSayItPlainlyNothingIsChecked() {
        Map<String, String> mla = new java.util.HashMap<>(GLM);
        mla.put("glm4moe.attention.kv_lora_rank", "512");
        assertThat(perCell(mla, KvCacheType.F16)).as("a latent cache").isEmpty();
        Map<String, String> perLayer = new java.util.HashMap<>(GLM);
        perLayer.put("glm4moe.attention.head_count_kv", "[4, 0, 4]");
        assertThat(perCell(perLayer, KvCacheType.F16)).as("KV heads per layer").isEmpty();
        new KvMemory(OptionalLong.empty(), () -> OptionalLong.of(0)).check(1 << 30);
        new KvMemory(OptionalLong.of(8192), OptionalLong::empty).check(1 << 30);
    }

    @Test
    void aContextIsRefusedOnlyWhenItsCacheExceedsTheMemoryLeft() {
        KvMemory memory = new KvMemory(OptionalLong.of(8192), () -> OptionalLong.of(8192L * 1000));
        memory.check(1000);
        assertThatThrownBy(() -> memory.check(1001)).isInstanceOf(EngineException.class)
                .hasMessageContaining("1001 KV cells").hasMessageContaining("fewer cells");
    }

    @Test
    void theModelRefusesAContextLargerThanThisMachineBeforeLlamaCppAllocatesIt() {
        Model m = TestModels.olmoe();
        OptionalLong perCell = KvMemory.bytesPerCell(m::metadata, KvCacheType.F16);
        assertThat(perCell).isPresent();
        OptionalLong left = KvMemory.thisMachine();
        assertThat(left).as("Linux tells the memory left").isPresent();
        int cells = (int) Math.min(Integer.MAX_VALUE, left.getAsLong() / perCell.getAsLong() + 1);
        assertThat((long) cells * perCell.getAsLong()).as("this machine is not too large for the test").isGreaterThan(left.getAsLong());
        assertThatThrownBy(() -> m.newSession(new SessionParams(cells, 64, 1, 1, 1))).isInstanceOf(EngineException.class)
                .hasMessageContaining("KV cache").hasMessageContaining("is left");
        try (Session fits = m.newSession(new SessionParams(256, 64, 1, 1, 1))) {
            assertThat(fits.contextSize()).isEqualTo(256);
        }
    }

    @Test
    void theMemoryLeftIsReadFromTheKernelAndTheCgroupLimit(@TempDir Path dir) throws IOException {
        Path meminfo = Files.writeString(dir.resolve("meminfo"), "MemTotal:       24683584 kB\nMemAvailable:   1000 kB\n");
        assertThat(KvMemory.memAvailable(meminfo)).hasValue(1000 * 1024);
        Files.writeString(dir.resolve("memory.max"), "max\n");
        Files.writeString(dir.resolve("memory.current"), "5000\n");
        assertThat(KvMemory.cgroupHeadroom(dir)).as("no limit").isEmpty();
        Files.writeString(dir.resolve("memory.max"), "8000\n");
        assertThat(KvMemory.cgroupHeadroom(dir)).hasValue(3000);
        assertThat(KvMemory.cgroupHeadroom(dir.resolve("absent"))).isEmpty();
    }
}
