package dev.moeadapter.core.testmodels;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shipped lab models and the prompts of a lab split, read from the samples module's files (tests run in their
 * module's folder; the test classpath has no JSON library, and the fields read are plain strings).
 */
public final class LabSuite {
    private static final Path LAB = Path.of("..", "samples", "lab");
    private static final Pattern PROMPT = Pattern.compile("\"prompt\":\"([^\"]*)\"");

    private LabSuite() {}

    /** A version-1 lab model's GGUF file, by name (for example {@code lab-olmoe}). */
    public static Path v1Model(String name) {
        return LAB.resolve("models").resolve(name + ".gguf");
    }

    /** A lab v2 model's GGUF file, by name (for example {@code lab2-olmoe-seed3}). */
    public static Path model(String name) {
        return LAB.resolve("v2").resolve("models").resolve(name + ".gguf");
    }

    /** The first {@code limit} prompts of version 1's {@code samples/lab/tasks/SPLIT.jsonl}. */
    public static List<String> v1Prompts(String split, int limit) {
        return read(LAB.resolve("tasks").resolve(split + ".jsonl"), limit);
    }

    /** The first {@code limit} prompts of lab v2's {@code samples/lab/v2/tasks/SPLIT.jsonl}. */
    public static List<String> prompts(String split, int limit) {
        return read(LAB.resolve("v2").resolve("tasks").resolve(split + ".jsonl"), limit);
    }

    private static List<String> read(Path file, int limit) {
        try (var lines = Files.lines(file)) {
            return lines.limit(limit).map(l -> {
                Matcher m = PROMPT.matcher(l);
                if (!m.find()) {
                    throw new IllegalStateException("no prompt in " + l);
                }
                return m.group(1);
            }).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
