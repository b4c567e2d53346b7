package dev.moeadapter.core.engine;

import dev.moeadapter.core.InvalidRequestException;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How to load a GGUF file.
 *
 * @param gpuLayers layers to offload to a GPU backend; 0 for CPU only, -1 for all
 * @param mmap map the file instead of reading it into memory
 */
public record ModelParams(Path path, int gpuLayers, boolean mmap) {
    public ModelParams {
        Objects.requireNonNull(path, "path");
        if (gpuLayers < -1) {
            throw new InvalidRequestException("gpuLayers must be -1 (all), 0 or positive, got " + gpuLayers);
        }
    }

    public static ModelParams of(Path path) {
        return new ModelParams(path, 0, true);
    }

    public ModelParams withGpuLayers(int layers) {
        return new ModelParams(path, layers, mmap);
    }

    public ModelParams withMmap(boolean enabled) {
        return new ModelParams(path, gpuLayers, enabled);
    }
}
