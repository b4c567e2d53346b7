package dev.moeadapter.core.generation;

import dev.moeadapter.core.InvalidRequestException;

import java.util.List;
import java.util.Objects;

/**
 * A prompt (already tokenized) and the rules for continuing it.
 *
 * @param stop strings that end generation; the text is cut before the first one found
 * @param ignoreEos keep going past end-of-generation tokens (benchmarks)
 */
public record GenerationRequest(int[] prompt, int maxTokens, SamplingParams sampling, List<String> stop, boolean ignoreEos) {
    public static final int MAX_STOP_STRINGS = 16;

    public GenerationRequest {
        Objects.requireNonNull(prompt, "prompt");
        prompt = prompt.clone();
        if (prompt.length == 0) {
            throw new InvalidRequestException("the prompt is empty");
        }
        if (maxTokens <= 0) {
            throw new InvalidRequestException("maxTokens must be positive, got " + maxTokens);
        }
        Objects.requireNonNull(sampling, "sampling");
        if (stop != null && stop.stream().anyMatch(Objects::isNull)) { // List.of(...).contains(null) would throw
            throw new InvalidRequestException("stop strings must not be null");
        }
        stop = List.copyOf(stop == null ? List.of() : stop);
        if (stop.size() > MAX_STOP_STRINGS) {
            throw new InvalidRequestException("at most " + MAX_STOP_STRINGS + " stop strings, got " + stop.size());
        }
        for (String s : stop) {
            if (s.isEmpty()) {
                throw new InvalidRequestException("stop strings must not be empty");
            }
        }
    }

    public static GenerationRequest greedy(int[] prompt, int maxTokens) {
        return new GenerationRequest(prompt, maxTokens, SamplingParams.GREEDY, List.of(), false);
    }

    @Override
    public int[] prompt() {
        return prompt.clone();
    }

    public GenerationRequest withSampling(SamplingParams s) {
        return new GenerationRequest(prompt, maxTokens, s, stop, ignoreEos);
    }

    public GenerationRequest withStop(List<String> s) {
        return new GenerationRequest(prompt, maxTokens, sampling, s, ignoreEos);
    }

    public GenerationRequest withIgnoreEos(boolean ignore) {
        return new GenerationRequest(prompt, maxTokens, sampling, stop, ignore);
    }
}
