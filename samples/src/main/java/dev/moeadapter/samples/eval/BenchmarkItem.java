package dev.moeadapter.samples.eval;

import java.util.List;
import java.util.Objects;

/**
 * One benchmark question: the prompt the model sees, the task it belongs to (for per-task
 * accuracy) and how its answer is scored.
 */
public record BenchmarkItem(String id, String task, String prompt, Scoring scoring) {
    public BenchmarkItem {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(scoring, "scoring");
    }

    /** How a generated answer is judged. */
    public sealed interface Scoring {
        String gold();
    }

    /** The first line of the answer, trimmed, must equal {@code answer} (lab tasks). */
    public record ExactMatch(String answer) implements Scoring {
        @Override
        public String gold() {
            return answer;
        }
    }

    /** The last number in the answer (after "####" if present) must equal {@code answer} (GSM8K). */
    public record FinalNumber(String answer) implements Scoring {
        @Override
        public String gold() {
            return answer;
        }
    }

    /** The first choice letter the model writes must be {@code letter} (MMLU / ARC, generative). */
    public record ChoiceLetter(List<String> choices, char letter) implements Scoring {
        public ChoiceLetter {
            choices = List.copyOf(choices);
        }

        @Override
        public String gold() {
            return String.valueOf(letter);
        }
    }
}
