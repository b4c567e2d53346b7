package dev.moeadapter.rerouting;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Shipped lab models and the prompts of a lab split (the module has no JSON library; the fields are plain strings). */
final class LabPrompts {
    static final Path OLMOE = Path.of("../samples/lab/models/lab-olmoe.gguf");
    static final Path V2_MIXTRAL = Path.of("../samples/lab/v2/models/lab2-mixtral-seed1.gguf");
    private static final Pattern PROMPT = Pattern.compile("\"prompt\":\"([^\"]*)\"");

    private LabPrompts() {
    }

    /** The first {@code limit} prompts of {@code samples/lab/tasks/SPLIT.jsonl}. */
    static List<String> of(String split, int limit) {
        return read(Path.of("../samples/lab/tasks", split + ".jsonl"), limit);
    }

    /** The first {@code limit} prompts of lab v2's {@code samples/lab/v2/tasks/SPLIT.jsonl}. */
    static List<String> ofV2(String split, int limit) {
        return read(Path.of("../samples/lab/v2/tasks", split + ".jsonl"), limit);
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
