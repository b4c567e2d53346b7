package dev.moeadapter.core.testmodels;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One version of the shipped lab: its models ({@code models/NAME.gguf}) and the prompts of its splits
 * ({@code tasks/SPLIT.jsonl}), read from the samples module's files (tests run in their module's folder; the test
 * classpath has no JSON library, and the fields read are plain strings).
 */
public record LabFiles(Path dir) {
    private static final Path LAB = Path.of("..", "samples", "lab");
    private static final Pattern PROMPT = Pattern.compile("\"prompt\":\"([^\"]*)\"");

    /** Version 1 (regression fixtures), version 2, and version 4 (the chain family). */
    public static final LabFiles V1 = new LabFiles(LAB), V2 = new LabFiles(LAB.resolve("v2")), V4 = new LabFiles(LAB.resolve("v4"));

    /** A model's GGUF file, by name (for example {@code lab2-olmoe-seed3}). */
    public Path model(String name) {
        return dir.resolve("models").resolve(name + ".gguf");
    }

    /** The prompts of the first {@code limit} items of a split. */
    public List<String> prompts(String split, int limit) {
        try (var lines = Files.lines(dir.resolve("tasks").resolve(split + ".jsonl"))) {
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
