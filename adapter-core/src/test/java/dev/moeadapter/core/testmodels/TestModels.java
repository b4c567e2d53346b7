package dev.moeadapter.core.testmodels;

import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The fixture models of the test suite, written once per test JVM and loaded once: loading is the
 * slow part, and a model is shared by many sessions anyway. {@code -Dmoe.adapter.test.gpuLayers=N}
 * offloads N layers (-1: all) to a GPU backend, for the GPU check ({@code cuda-check.sh}).
 */
public final class TestModels {
    private static final Map<String, Model> LOADED = new ConcurrentHashMap<>();
    private static final int GPU_LAYERS = Integer.getInteger("moe.adapter.test.gpuLayers", 0);
    private static Path dir;

    private TestModels() {}

    public static Model olmoe() {
        return load(RandomModels.Spec.olmoe());
    }

    public static Model mixtral() {
        return load(RandomModels.Spec.mixtral());
    }

    public static Model dense() {
        return load(RandomModels.Spec.dense());
    }

    public static Model byName(String name) {
        return switch (name) {
            case "olmoe" -> olmoe();
            case "mixtral" -> mixtral();
            case "qwen3moe" -> load(RandomModels.Spec.qwen3moe());
            case "glm4moe" -> load(RandomModels.Spec.glm4moe());
            case "deepseek2" -> load(RandomModels.Spec.deepseek2());
            case "smallthinker" -> load(RandomModels.Spec.smallthinker());
            case "grovemoe" -> load(RandomModels.Spec.grovemoe());
            case "gpt-oss" -> load(RandomModels.Spec.gptOss());
            case "lfm2moe" -> load(RandomModels.Spec.lfm2moe());
            case "llama4" -> load(RandomModels.Spec.llama4());
            case "deepseek4" -> load(RandomModels.Spec.deepseek4());
            case "qwen3next" -> load(RandomModels.Spec.qwen3next());
            case "dense" -> dense();
            default -> throw new IllegalArgumentException(name);
        };
    }

    public static Path file(RandomModels.Spec spec) {
        try {
            Path f = directory().resolve(spec.arch().name().toLowerCase() + "-" + Integer.toHexString(spec.hashCode()) + ".gguf");
            if (!Files.exists(f)) {
                RandomModels.write(spec, f);
            }
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static synchronized Path directory() throws IOException {
        if (dir == null) {
            dir = Files.createTempDirectory("moe-adapter-test-models");
            dir.toFile().deleteOnExit();
        }
        return dir;
    }

    private static Model load(RandomModels.Spec spec) {
        return LOADED.computeIfAbsent(spec.toString(), k -> Model.load(ModelParams.of(file(spec)).withGpuLayers(GPU_LAYERS)));
    }
}
