package dev.moeadapter.samples.eval;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a JSONL benchmark. Each line is recognised by its fields:
 * <ul>
 *   <li>lab suite: {@code prompt}, {@code answer} (exact match), optional {@code id}, {@code task};</li>
 *   <li>GSM8K style: {@code question}, {@code answer} ending in {@code #### <number>};</li>
 *   <li>multiple choice (ARC / MMLU style): {@code question}, {@code choices} (a list, or ARC's
 *       {@code {text:[...], label:[...]}}), and {@code answer} or {@code answerKey} as a letter or
 *       a 0-based index; optional {@code subject}.</li>
 * </ul>
 * A line that fits none, or is not JSON, fails with its line number; nothing is skipped silently.
 */
public final class BenchmarkFile {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Pattern GSM8K_FINAL = Pattern.compile("####\\s*(-?[\\d,]*\\.?\\d+)\\s*$");

    private BenchmarkFile() {}

    public static List<BenchmarkItem> read(Path file) {
        String name = file.getFileName().toString();
        List<BenchmarkItem> items = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int n = 0;
            while ((line = in.readLine()) != null) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                BenchmarkItem item = parse(name, n, line);
                if (!ids.add(item.id())) {
                    throw new BenchmarkFormatException(name, n, "duplicate id '" + item.id() + "'");
                }
                items.add(item);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read benchmark " + file + ": " + e.getMessage(), e);
        }
        if (items.isEmpty()) {
            throw new BenchmarkFormatException(name, 0, "no benchmark items");
        }
        return items;
    }

    static BenchmarkItem parse(String file, int line, String text) {
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (JacksonException e) {
            throw new BenchmarkFormatException(file, line, "not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (node == null || !node.isObject()) {
            throw new BenchmarkFormatException(file, line, "each line must be a JSON object");
        }
        String id = node.has("id") ? node.get("id").asString() : "line-" + line;
        if (node.has("choices")) {
            return multipleChoice(file, line, node, id);
        }
        if (node.has("prompt")) {
            String answer = requireText(file, line, node, "answer");
            String task = node.has("task") ? node.get("task").asString() : "default";
            return new BenchmarkItem(id, task, requireText(file, line, node, "prompt"), new BenchmarkItem.ExactMatch(answer.strip()));
        }
        if (node.has("question")) {
            String answer = requireText(file, line, node, "answer");
            Matcher m = GSM8K_FINAL.matcher(answer.strip());
            String gold = m.find() ? m.group(1) : answer.strip();
            if (Scorer.parseNumber(gold) == null) {
                throw new BenchmarkFormatException(file, line, "answer has no final number (expected '#### <number>')");
            }
            String prompt = "Question: " + requireText(file, line, node, "question") + "\nAnswer:";
            return new BenchmarkItem(id, "gsm8k", prompt, new BenchmarkItem.FinalNumber(gold));
        }
        throw new BenchmarkFormatException(file, line, "unrecognised item: expected 'prompt'+'answer', 'question'+'answer', or 'question'+'choices'+'answer'");
    }

    private static BenchmarkItem multipleChoice(String file, int line, JsonNode node, String id) {
        String question = requireText(file, line, node, "question");
        JsonNode c = node.get("choices");
        List<String> choices = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        JsonNode texts = c.isObject() ? c.get("text") : c;
        if (texts == null || !texts.isArray() || texts.isEmpty()) {
            throw new BenchmarkFormatException(file, line, "'choices' must be a non-empty list (or {text:[...], label:[...]})");
        }
        texts.forEach(t -> choices.add(t.asString()));
        if (choices.size() > 26) {
            throw new BenchmarkFormatException(file, line, "at most 26 choices");
        }
        if (c.isObject() && c.has("label")) {
            c.get("label").forEach(l -> labels.add(l.asString()));
        }
        JsonNode ans = node.has("answerKey") ? node.get("answerKey") : node.get("answer");
        if (ans == null || ans.isNull()) {
            throw new BenchmarkFormatException(file, line, "missing 'answer' (or 'answerKey')");
        }
        int index;
        if (ans.isInt()) {
            index = ans.asInt();
        } else if (labels.contains(ans.asString())) {
            index = labels.indexOf(ans.asString());
        } else if (ans.asString().length() == 1 && Character.isLetter(ans.asString().charAt(0))) {
            index = Character.toUpperCase(ans.asString().charAt(0)) - 'A';
        } else if (ans.asString().matches("\\d+")) {
            index = Integer.parseInt(ans.asString());
        } else {
            throw new BenchmarkFormatException(file, line, "answer '" + ans.asString() + "' is neither a choice letter nor an index");
        }
        if (index < 0 || index >= choices.size()) {
            throw new BenchmarkFormatException(file, line, "answer index " + index + " outside the " + choices.size() + " choices");
        }
        StringBuilder prompt = new StringBuilder(question.strip()).append('\n');
        for (int i = 0; i < choices.size(); i++) {
            prompt.append((char) ('A' + i)).append(". ").append(choices.get(i).strip()).append('\n');
        }
        prompt.append("Answer:");
        String task = node.has("subject") ? node.get("subject").asString() : "multiple-choice";
        return new BenchmarkItem(id, task, prompt.toString(), new BenchmarkItem.ChoiceLetter(choices, (char) ('A' + index)));
    }

    private static String requireText(String file, int line, JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            throw new BenchmarkFormatException(file, line, "missing '" + field + "'");
        }
        if (!v.isString() && !v.isNumber()) {
            throw new BenchmarkFormatException(file, line, "'" + field + "' must be a string");
        }
        return v.asString();
    }
}
