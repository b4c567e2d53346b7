package dev.moeadapter.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.util.Arrays;

/**
 * Tokens/s of the repetitions of one measurement. Mean and sample standard deviation are taken over
 * the per-repetition tokens/s values, as llama-bench computes {@code avg_ts} and {@code stddev_ts}.
 */
@JsonPropertyOrder({"tokens", "avg_ts", "stddev_ts", "samples_ts"})
record Series(int tokens, double[] samplesTs) {
    Series {
        samplesTs = samplesTs.clone();
    }

    static Series ofSeconds(int tokens, double[] seconds) {
        return new Series(tokens, Arrays.stream(seconds).map(s -> tokens / s).toArray());
    }

    /** This series' samples followed by those of {@code other} (the same measurement, repeated later). */
    Series concat(Series other) {
        if (other.tokens != tokens) {
            throw new IllegalArgumentException("cannot pool " + tokens + "- and " + other.tokens + "-token measurements");
        }
        double[] all = Arrays.copyOf(samplesTs, samplesTs.length + other.samplesTs.length);
        System.arraycopy(other.samplesTs, 0, all, samplesTs.length, other.samplesTs.length);
        return new Series(tokens, all);
    }

    @JsonProperty("avg_ts")
    double mean() {
        return mean(samplesTs);
    }

    @JsonProperty("stddev_ts")
    double stddev() {
        return stddev(samplesTs);
    }

    static double mean(double[] v) {
        return Arrays.stream(v).average().orElse(Double.NaN);
    }

    /** Sample standard deviation (n − 1), 0 for fewer than two values. */
    static double stddev(double[] v) {
        int n = v.length;
        if (n < 2) {
            return 0;
        }
        double m = mean(v), ss = 0;
        for (double x : v) {
            ss += (x - m) * (x - m);
        }
        return Math.sqrt(ss / (n - 1));
    }
}
