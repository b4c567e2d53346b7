package dev.moeadapter.samples.eval;

import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** The summary of one evaluation run, written as a console table, JSON and an HTML page. */
/**
 * @param scmoeMaskReach for SCMoE: the share of the base model's failures whose gold tokens all lie
 *                       inside the α-mask (the only failures a contrast can fix); null for other
 *                       policies or when the base model failed no item
 */
public record EvalReport(String model, String benchmark, String policy, Proportion accuracy, Map<String, Proportion> perTask,
                         double secondsPerItem, double tokensPerSecond, double meanRoutingShift, ExpertUsage expertUsage,
                         Proportion scmoeMaskReach, List<ItemResult> items) {

    public static EvalReport of(String model, String benchmark, String policy, List<ItemResult> items, ExpertUsage usage) {
        int correct = (int) items.stream().filter(ItemResult::correct).count();
        Map<String, Proportion> perTask = new TreeMap<>();
        items.stream().collect(Collectors.groupingBy(ItemResult::task)).forEach((task, rs) ->
                perTask.put(task, Proportion.of((int) rs.stream().filter(ItemResult::correct).count(), rs.size())));
        double seconds = items.stream().mapToDouble(ItemResult::seconds).sum();
        long tokens = items.stream().mapToLong(ItemResult::generatedTokens).sum();
        double shift = items.stream().mapToDouble(ItemResult::routingShift).filter(d -> !Double.isNaN(d)).average().orElse(Double.NaN);
        List<Boolean> reach = items.stream().map(ItemResult::goldInMask).filter(java.util.Objects::nonNull).toList();
        Proportion maskReach = reach.isEmpty() ? null : Proportion.of((int) reach.stream().filter(b -> b).count(), reach.size());
        return new EvalReport(model, benchmark, policy, Proportion.of(correct, items.size()), perTask,
                items.isEmpty() ? 0 : seconds / items.size(), seconds == 0 ? 0 : tokens / seconds, shift, usage, maskReach, items);
    }

    public String table() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-12s %-26s %6s %10s %9s %14s%n", "policy", "accuracy [95% CI]", "items", "s/item", "tok/s", "routing shift"));
        sb.append(String.format(Locale.ROOT, "%-12s %-26s %6d %10.3f %9.1f %14s%n", policy,
                String.format(Locale.ROOT, "%.1f%% [%.1f, %.1f]", 100 * accuracy.value(), 100 * accuracy.low(), 100 * accuracy.high()),
                accuracy.n(), secondsPerItem, tokensPerSecond, Double.isNaN(meanRoutingShift) ? "n/a" : String.format(Locale.ROOT, "%.4f", meanRoutingShift)));
        if (scmoeMaskReach != null) {
            sb.append(String.format(Locale.ROOT, "SCMoE mask reach: %d of %d base failures have every gold token inside the α-mask (%s)%s%n",
                    scmoeMaskReach.successes(), scmoeMaskReach.n(), scmoeMaskReach,
                    scmoeMaskReach.value() == 0 ? ": SCMoE cannot fix any of them" : ""));
        }
        sb.append("per task:\n");
        perTask.forEach((task, p) -> sb.append(String.format(Locale.ROOT, "  %-24s %s%n", task, p)));
        return sb.append(expertUsage.table()).toString();
    }

    public void writeJson(Path file) throws IOException {
        JsonMapper json = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();
        Files.createDirectories(file.toAbsolutePath().getParent());
        json.writeValue(file.toFile(), this);
    }

    public void writeHtml(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, HtmlReport.render(this), StandardCharsets.UTF_8);
    }
}
