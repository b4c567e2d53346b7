package dev.moeadapter.samples.eval;

import java.math.BigDecimal;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Extracts the answer from generated text and compares it with the gold answer. */
public final class Scorer {
    private static final Pattern NUMBER = Pattern.compile("-?\\d[\\d,]*(?:\\.\\d+)?|-?\\.\\d+");
    private static final Pattern LETTER = Pattern.compile("\\b([A-Z])\\b");

    private Scorer() {}

    /** The answer as the benchmark reads it from the generated text (null if none). */
    public static String extract(BenchmarkItem.Scoring scoring, String output) {
        return switch (scoring) {
            case BenchmarkItem.ExactMatch e -> output.strip().lines().findFirst().map(String::strip).orElse("");
            case BenchmarkItem.FinalNumber f -> finalNumber(output);
            case BenchmarkItem.ChoiceLetter c -> firstLetter(output, c.choices().size());
        };
    }

    public static boolean correct(BenchmarkItem.Scoring scoring, String output) {
        String got = extract(scoring, output);
        if (got == null) {
            return false;
        }
        return switch (scoring) {
            case BenchmarkItem.ExactMatch e -> got.equals(e.answer());
            case BenchmarkItem.FinalNumber f -> {
                BigDecimal a = parseNumber(got), b = parseNumber(f.answer());
                yield a != null && b != null && a.compareTo(b) == 0;
            }
            case BenchmarkItem.ChoiceLetter c -> got.charAt(0) == c.letter();
        };
    }

    static String finalNumber(String output) {
        int hashes = output.lastIndexOf("####");
        String tail = hashes >= 0 ? output.substring(hashes + 4) : output;
        Matcher m = NUMBER.matcher(tail);
        String last = null;
        while (m.find()) {
            last = m.group();
            if (hashes >= 0) {
                break; // the number right after "####" is the final answer
            }
        }
        return last;
    }

    private static String firstLetter(String output, int choices) {
        Matcher m = LETTER.matcher(output);
        while (m.find()) {
            char c = m.group(1).charAt(0);
            if (c - 'A' < choices) {
                return String.valueOf(c);
            }
        }
        return null;
    }

    /** A number as GSM8K writes them ("1,234", "-3", "2.50"), or null. */
    static BigDecimal parseNumber(String s) {
        if (s == null) {
            return null;
        }
        try {
            return new BigDecimal(s.replace(",", "").strip());
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
