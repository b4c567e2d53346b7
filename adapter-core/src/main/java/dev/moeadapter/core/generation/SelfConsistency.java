package dev.moeadapter.core.generation;

import dev.moeadapter.core.InvalidRequestException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * Self-consistency: draw n answers, extract each one's final answer, return the most frequent
 * (ties go to the answer seen first). Works over any way of producing a sample (plain or SCMoE).
 */
public final class SelfConsistency {
    private SelfConsistency() {}

    /** The vote and everything it was based on. */
    public record Vote(Optional<String> answer, int votes, List<GenerationResult> samples, List<Optional<String>> extracted) {
        public Vote {
            samples = List.copyOf(samples);
            extracted = List.copyOf(extracted);
        }
    }

    /**
     * @param sample draws the i-th sample (use a different seed per i)
     * @param extract the final answer of a text, empty if it has none
     */
    public static Vote vote(int n, IntFunction<GenerationResult> sample, Function<String, Optional<String>> extract) {
        if (n < 1 || n > 256) {
            throw new InvalidRequestException("self-consistency needs 1..256 samples, got " + n);
        }
        List<GenerationResult> samples = new ArrayList<>(n);
        List<Optional<String>> answers = new ArrayList<>(n);
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            GenerationResult r = sample.apply(i);
            Optional<String> a = extract.apply(r.text());
            samples.add(r);
            answers.add(a);
            a.ifPresent(x -> counts.merge(x, 1, Integer::sum));
        }
        String best = null;
        int bestVotes = 0;
        for (var e : counts.entrySet()) {
            if (e.getValue() > bestVotes) {
                best = e.getKey();
                bestVotes = e.getValue();
            }
        }
        return new Vote(Optional.ofNullable(best), bestVotes, samples, answers);
    }
}
