package dev.moeadapter.bench;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Tokens/s of the repetitions of one measurement. Mean and sample standard deviation are taken over
 * the per-repetition tokens/s values, as llama-bench computes {@code avg_ts} and {@code stddev_ts}.
 */
record Series(int tokens, double[] samplesTs) {
    Series {
        samplesTs = samplesTs.clone();
    }

    static Series ofSeconds(int tokens, double[] seconds) {
        double[] ts = new double[seconds.length];
        for (int i = 0; i < ts.length; i++) {
            ts[i] = tokens / seconds[i];
        }
        return new Series(tokens, ts);
    }

    double mean() {
        return Arrays.stream(samplesTs).average().orElse(Double.NaN);
    }

    double stddev() {
        int n = samplesTs.length;
        if (n < 2) {
            return 0;
        }
        double m = mean(), ss = 0;
        for (double v : samplesTs) {
            ss += (v - m) * (v - m);
        }
        return Math.sqrt(ss / (n - 1));
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("tokens", tokens);
        m.put("avg_ts", mean());
        m.put("stddev_ts", stddev());
        m.put("samples_ts", samplesTs);
        return m;
    }
}
