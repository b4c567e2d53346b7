package dev.moeadapter.bench;

import dev.moeadapter.core.testmodels.RandomModels;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * {@code GenerateModel OUT.gguf}: writes the benchmark model ({@link RandomModels#writeLarge}, a
 * random-weight OLMoE-style F16 MoE) to a temporary file next to OUT and renames it into place, so an
 * interrupted run never leaves a truncated model behind.
 */
public final class GenerateModel {
    private GenerateModel() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: GenerateModel OUT.gguf");
            System.exit(2);
        }
        Path out = Path.of(args[0]).toAbsolutePath();
        Files.createDirectories(out.getParent());
        Path tmp = out.resolveSibling(out.getFileName() + ".part");
        long t0 = System.nanoTime();
        RandomModels.writeLarge(tmp);
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        var spec = RandomModels.Spec.olmoeLarge();
        System.out.printf(Locale.ROOT, "wrote %s: %s, %,d parameters, %.1f MiB in %.1f s%n", out, spec.name(),
                spec.parameterCount(), Files.size(out) / 1048576.0, (System.nanoTime() - t0) / 1e9);
    }
}
