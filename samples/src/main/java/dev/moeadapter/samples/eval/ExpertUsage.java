package dev.moeadapter.samples.eval;

import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * How often each expert was selected, per layer — over all items ({@code total}) and per task.
 * {@code concentration[task][layer]}: the share of that task's selections that land on its k most
 * used experts (k = experts selected per token); routing that ignores the task gives k / experts,
 * a task that always reaches the same experts gives 1.
 */
public record ExpertUsage(int topK, long[][] total, Map<String, long[][]> byTask, Map<String, double[]> concentration) {

    public static ExpertUsage of(int topK, long[][] total, Map<String, long[][]> byTask) {
        Map<String, double[]> conc = new TreeMap<>();
        byTask.forEach((task, usage) -> {
            double[] c = new double[usage.length];
            for (int l = 0; l < usage.length; l++) {
                long[] sorted = usage[l].clone();
                Arrays.sort(sorted);
                long sum = Arrays.stream(sorted).sum(), top = 0;
                for (int i = 0; i < topK && i < sorted.length; i++) top += sorted[sorted.length - 1 - i];
                c[l] = sum == 0 ? Double.NaN : (double) top / sum;
            }
            conc.put(task, c);
        });
        return new ExpertUsage(topK, total, new TreeMap<>(byTask), conc);
    }

    /** The share one layer's top-k experts would get if routing ignored the task. */
    public double uniformConcentration() {
        int experts = total.length == 0 ? 0 : total[0].length;
        return experts == 0 ? Double.NaN : Math.min(1.0, (double) topK / experts);
    }

    /** Console table: task × layer concentration. */
    public String table() {
        if (concentration.isEmpty() || total.length == 0) return "";
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "expert concentration per task (share of selections on the task's top-%d experts; %.2f if routing ignored the task):%n",
                topK, uniformConcentration()));
        concentration.forEach((task, c) -> {
            sb.append(String.format(Locale.ROOT, "  %-24s", task));
            for (double v : c) sb.append(Double.isNaN(v) ? "    - " : String.format(Locale.ROOT, " %5.2f", v));
            sb.append('\n');
        });
        return sb.toString();
    }
}
