package dev.moeadapter.core.engine;

import dev.moeadapter.core.EngineException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Refuses a context whose KV cache cannot fit in the memory left. llama.cpp allocates and zeroes a
 * context's whole KV cache when it creates it: a cache larger than the machine fails there with a
 * clear error, but one that the allocator grants (Linux overcommits) while less memory is left gets the
 * process killed by the kernel as it is zeroed. So each context is checked against the memory left at
 * the moment it is made, after the contexts before it took theirs.
 *
 * <p>The bytes per cell come from the model's metadata where they are exact: an attention memory
 * whose keys and values are cached per head (not a latent compression, as DeepSeek's MLA caches).
 * Other memories, and caches on a GPU, are not checked.
 */
final class KvMemory {
    private static final double GIB = 1 << 30;
    private final OptionalLong bytesPerCell;
    private final Supplier<OptionalLong> available;

    KvMemory(OptionalLong bytesPerCell, Supplier<OptionalLong> available) {
        this.bytesPerCell = bytesPerCell;
        this.available = available;
    }

    /** {@code metadata}: the model's GGUF metadata; {@code offloaded}: the model runs layers on a GPU. */
    static KvMemory of(ModelInfo info, Function<String, Optional<String>> metadata, KvCacheType type, boolean offloaded) {
        OptionalLong perCell = offloaded || info.memory() != Memory.ATTENTION ? OptionalLong.empty() : bytesPerCell(metadata, type);
        return new KvMemory(perCell, KvMemory::thisMachine);
    }

    /**
     * Layers × (key + value width of the KV heads) × bytes per element, for an attention memory that
     * caches keys and values per head; empty where the metadata does not say it plainly.
     */
    static OptionalLong bytesPerCell(Function<String, Optional<String>> metadata, KvCacheType type) {
        Optional<String> arch = metadata.apply("general.architecture");
        if (arch.isEmpty() || metadata.apply(arch.get() + ".attention.kv_lora_rank").isPresent()) {
            return OptionalLong.empty(); // a latent cache (MLA) is smaller than its heads
        }
        String a = arch.get();
        OptionalLong layers = number(metadata.apply(a + ".block_count"));
        OptionalLong heads = number(metadata.apply(a + ".attention.head_count"));
        OptionalLong width = number(metadata.apply(a + ".embedding_length"));
        if (layers.isEmpty() || heads.isEmpty() || width.isEmpty() || heads.getAsLong() <= 0) {
            return OptionalLong.empty();
        }
        long headWidth = width.getAsLong() / heads.getAsLong();
        OptionalLong kv = numberOr(metadata.apply(a + ".attention.head_count_kv"), heads.getAsLong());
        OptionalLong keyWidth = numberOr(metadata.apply(a + ".attention.key_length"), headWidth);
        OptionalLong valueWidth = numberOr(metadata.apply(a + ".attention.value_length"), headWidth);
        if (kv.isEmpty() || keyWidth.isEmpty() || valueWidth.isEmpty()) {
            return OptionalLong.empty(); // given per layer, or not as one number
        }
        long elementBytes = type == KvCacheType.F32 ? 4 : 2;
        return OptionalLong.of(layers.getAsLong() * kv.getAsLong() * (keyWidth.getAsLong() + valueWidth.getAsLong()) * elementBytes);
    }

    /** Refuses a context of {@code cells} KV cells that would not fit in the memory left now. */
    void check(long cells) {
        if (bytesPerCell.isEmpty()) {
            return;
        }
        OptionalLong left = available.get();
        long needed = Math.multiplyHigh(cells, bytesPerCell.getAsLong()) != 0 ? Long.MAX_VALUE : cells * bytesPerCell.getAsLong();
        if (left.isPresent() && needed > left.getAsLong()) {
            throw new EngineException(String.format("a context of %d KV cells needs %.2f GiB for its KV cache and %.2f GiB of memory"
                    + " is left: give it fewer cells (a smaller context size, fewer sequences, sessions or lanes)",
                    cells, needed / GIB, left.getAsLong() / GIB));
        }
    }

    /** Memory left to this process: the kernel's estimate of what can be had without swapping, within its cgroup's limit. */
    static OptionalLong thisMachine() {
        OptionalLong meminfo = memAvailable(Path.of("/proc/meminfo"));
        OptionalLong cgroup = cgroupHeadroom(Path.of("/sys/fs/cgroup"));
        if (meminfo.isEmpty()) {
            return cgroup;
        }
        return cgroup.isEmpty() ? meminfo : OptionalLong.of(Math.min(meminfo.getAsLong(), cgroup.getAsLong()));
    }

    static OptionalLong memAvailable(Path meminfo) {
        for (String line : lines(meminfo)) {
            if (line.startsWith("MemAvailable:")) {
                OptionalLong kib = number(Optional.of(line.substring("MemAvailable:".length()).replace("kB", "").strip()));
                return kib.isPresent() ? OptionalLong.of(kib.getAsLong() * 1024) : OptionalLong.empty();
            }
        }
        return OptionalLong.empty();
    }

    /** A cgroup v2 limit less what the cgroup uses; empty without a limit ("max") or outside cgroup v2. */
    static OptionalLong cgroupHeadroom(Path cgroup) {
        List<String> max = lines(cgroup.resolve("memory.max"));
        List<String> current = lines(cgroup.resolve("memory.current"));
        if (max.isEmpty() || current.isEmpty()) {
            return OptionalLong.empty();
        }
        OptionalLong limit = number(Optional.of(max.getFirst().strip()));
        OptionalLong used = number(Optional.of(current.getFirst().strip()));
        return limit.isPresent() && used.isPresent() ? OptionalLong.of(Math.max(0, limit.getAsLong() - used.getAsLong())) : OptionalLong.empty();
    }

    private static List<String> lines(Path file) {
        try {
            return Files.isReadable(file) ? Files.readAllLines(file) : List.of();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The number {@code text} holds, {@code absent} where there is no text, empty where it is not one number. */
    private static OptionalLong numberOr(Optional<String> text, long absent) {
        return text.isEmpty() ? OptionalLong.of(absent) : number(text);
    }

    private static OptionalLong number(Optional<String> text) {
        try {
            return text.isPresent() ? OptionalLong.of(Long.parseLong(text.get().strip())) : OptionalLong.empty();
        } catch (NumberFormatException e) {
            return OptionalLong.empty(); // "max", a per-layer array, anything not one number
        }
    }
}
