package dev.moeadapter.bench;

import dev.moeadapter.core.testmodels.RandomModels;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * {@code GenerateModel OUT.gguf [olmoe|glm4moe|qwen3next]}: writes a benchmark model ({@link RandomModels.Spec#olmoeLarge},
 * a random-weight OLMoE-style F16 MoE, by default; {@link RandomModels.Spec#glm4moeLarge}, sigmoid gating
 * with selection bias and expert groups, for the sigmoid-with-bias rows; {@link RandomModels.Spec#qwen3nextLarge},
 * a hybrid memory) to a temporary file next to
 * OUT and renames it into place, so an interrupted run never leaves a truncated model behind.
 */
public final class GenerateModel {
    private GenerateModel() {}

    public static void main(String[] args) throws Exception {
        String kind = args.length == 2 ? args[1] : "olmoe";
        RandomModels.Spec spec = switch (kind) {
            case "olmoe" -> RandomModels.Spec.olmoeLarge();
            case "glm4moe" -> RandomModels.Spec.glm4moeLarge();
            case "qwen3next" -> RandomModels.Spec.qwen3nextLarge();
            default -> null;
        };
        if (args.length < 1 || args.length > 2 || spec == null) {
            System.err.println("usage: GenerateModel OUT.gguf [olmoe|glm4moe|qwen3next]");
            System.exit(2);
        }
        Path out = Path.of(args[0]).toAbsolutePath();
        Files.createDirectories(out.getParent());
        Path tmp = out.resolveSibling(out.getFileName() + ".part");
        long t0 = System.nanoTime();
        RandomModels.write(spec, tmp);
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        System.out.printf(Locale.ROOT, "wrote %s: %s, %,d parameters, %.1f MiB in %.1f s%n", out, spec.name(),
                spec.parameterCount(), Files.size(out) / 1048576.0, (System.nanoTime() - t0) / 1e9);
    }
}
