package dev.moeadapter.core.generation;

import dev.moeadapter.core.InvalidRequestException;

/**
 * How to pick each next token. Temperature 0 is greedy; otherwise llama.cpp's sampler chain runs
 * top-k (0 = off), top-p (1 = off), min-p (0 = off), temperature, then a seeded draw. A positive
 * temperature below {@link #MIN_TEMPERATURE} is taken as that: the logits are divided by it in
 * single precision, where a smaller one (a subnormal float, or 0 when rounded) turns them into
 * infinities and the draw into noise.
 */
public record SamplingParams(double temperature, int topK, double topP, double minP, long seed) {
    public static final SamplingParams GREEDY = new SamplingParams(0, 0, 1, 0, 0);
    /** The smallest temperature used: logits of any model stay finite divided by it, and it already picks the top token. */
    public static final double MIN_TEMPERATURE = 1e-6;

    public SamplingParams {
        if (!Double.isFinite(temperature) || temperature < 0 || temperature > 100) {
            throw new InvalidRequestException("temperature must be in [0, 100], got " + temperature);
        }
        if (temperature > 0 && temperature < MIN_TEMPERATURE) {
            temperature = MIN_TEMPERATURE;
        }
        if (topK < 0) {
            throw new InvalidRequestException("topK must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new InvalidRequestException("topP must be in (0, 1], got " + topP);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw new InvalidRequestException("minP must be in [0, 1], got " + minP);
        }
    }

    public static SamplingParams temperature(double temperature, long seed) {
        return new SamplingParams(temperature, 0, 1, 0, seed);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    public SamplingParams withTopK(int k) {
        return new SamplingParams(temperature, k, topP, minP, seed);
    }

    public SamplingParams withTopP(double p) {
        return new SamplingParams(temperature, topK, p, minP, seed);
    }

    public SamplingParams withMinP(double p) {
        return new SamplingParams(temperature, topK, topP, p, seed);
    }

    public SamplingParams withSeed(long s) {
        return new SamplingParams(temperature, topK, topP, minP, s);
    }
}
