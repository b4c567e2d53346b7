package dev.moeadapter.bench;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

/**
 * The serving benchmark's table ({@code benchmarks/serving.sh}). Each configuration ran once per round,
 * the rounds alternating which server goes first; a row gives the median over rounds of its figures and
 * of its per-round ratios to llama-server's run of the same round and client count (throughput; p99
 * inter-token latency), with the ratios' range. For each mixed run, each plain client's tokens/s against
 * a client's in the same round's run of the same server with 8 plain clients. Then, where the runs carry them, the
 * servers' CPU seconds per round (all, and the JVM's JIT compilers') and the decode loop's rows per step, its thread's
 * busy share of the round and its stalls per step. {@code StreamingReport serving.jsonl [REFERENCE]}: the ratios are to
 * the runs whose label starts with REFERENCE ({@value #LLAMA_SERVER} by default; {@code builds_ab.sh}: the build before).
 */
public final class StreamingReport {
    /** A mixed run's label: its plain run's label and this. */
    static final String MIXED = ", 4 plain + 4 scmoe";
    static final String LLAMA_SERVER = "llama-server";

    private StreamingReport() {}

    public static void main(String[] args) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> runs = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[0]))) {
            if (!line.isBlank()) {
                runs.add(json.readTree(line));
            }
        }
        Map<String, List<JsonNode>> groups = new LinkedHashMap<>();
        for (JsonNode r : runs) {
            groups.computeIfAbsent(r.get("label").asString() + "\u0000" + r.get("clients").asInt(), k -> new ArrayList<>()).add(r);
        }
        String reference = args.length > 1 ? args[1] : LLAMA_SERVER;
        System.out.println("| run | clients | rounds | tokens/s | vs " + reference + " [range] | TTFT p50 / p99 ms | ITL p50 / p99 ms |"
                + " p99 ITL vs " + reference + " [range] | errors |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (List<JsonNode> g : groups.values()) {
            JsonNode first = g.getFirst();
            int clients = first.get("clients").asInt();
            double[] tps = ratios(g, runs, reference, r -> r.get("tokens_per_s").asDouble());
            double[] itl = ratios(g, runs, reference, r -> r.get("itl_p99_ms").asDouble());
            System.out.println(String.format(Locale.ROOT, "| %s | %d | %d | %.1f | %s | %.1f / %.1f | %.1f / %.1f | %s | %d |",
                    first.get("label").asString(), clients, g.size(), median(g, "tokens_per_s"), range(tps),
                    median(g, "ttft_p50_ms"), median(g, "ttft_p99_ms"), median(g, "itl_p50_ms"), median(g, "itl_p99_ms"), range(itl),
                    g.stream().mapToInt(r -> r.get("errors").asInt()).sum()));
        }
        if (runs.stream().anyMatch(r -> r.has("server_cpu_s"))) {
            System.out.println();
            System.out.println("| run | clients | server CPU s per round | of it JIT compilers | loop rows per step | loop busy share of the round"
                    + " | loop stalled ms per step |");
            System.out.println("|---|---:|---:|---:|---:|---:|---:|");
            for (List<JsonNode> g : groups.values()) {
                JsonNode first = g.getFirst();
                System.out.println(String.format(Locale.ROOT, "| %s | %d | %.2f | %.2f | %s | %s | %s |", first.get("label").asString(),
                        first.get("clients").asInt(), median(g, "server_cpu_s"), median(g, "server_jit_cpu_s"),
                        loopColumn(g, "%.1f", r -> perStep(r, "rows")),
                        loopColumn(g, "%.2f", r -> r.path("loop").path("busy_ms").asDouble() / 1000 / r.get("wall_s").asDouble()),
                        loopColumn(g, "%.2f", r -> perStep(r, "stalled_ms"))));
            }
        }
        Map<String, List<Double>> shares = new LinkedHashMap<>(); // by the plain run's label
        for (JsonNode mixed : runs) {
            String label = mixed.get("label").asString();
            if (!mixed.path("arms").has("none") || !label.endsWith(MIXED)) {
                continue;
            }
            String plainLabel = label.substring(0, label.length() - MIXED.length());
            inRound(runs, mixed, plainLabel::equals).ifPresent(plain -> shares.computeIfAbsent(plainLabel, k -> new ArrayList<>()).add(
                    mixed.path("arms").path("none").get("tokens_per_s_per_client").asDouble()
                            / (plain.get("tokens_per_s").asDouble() / plain.get("clients").asInt())));
        }
        shares.forEach((plainLabel, list) -> {
            double[] s = list.stream().mapToDouble(Double::doubleValue).toArray();
            System.out.println(String.format(Locale.ROOT, "%n%s: with 4 SCMoE clients beside them, each plain client got %s of its"
                    + " tokens/s in the same round's 8-plain run (median [range] over %d rounds; target at least 8/12 = 0.67: the weak"
                    + " rows' share and no more).", plainLabel, range(s), s.length));
        });
    }

    /** Per round, the run's figure over the reference's at the same client count; rounds without one are left out. */
    private static double[] ratios(List<JsonNode> group, List<JsonNode> runs, String reference, ToDoubleFunction<JsonNode> figure) {
        return group.stream().flatMap(r -> inRound(runs, r, label -> label.startsWith(reference)).stream()
                .map(ref -> figure.applyAsDouble(r) / figure.applyAsDouble(ref))).mapToDouble(Double::doubleValue).toArray();
    }

    /** The run whose label matches, with {@code run}'s client count and round. */
    private static Optional<JsonNode> inRound(List<JsonNode> runs, JsonNode run, Predicate<String> label) {
        return runs.stream().filter(r -> label.test(r.get("label").asString()) && r.get("clients").asInt() == run.get("clients").asInt()
                && r.path("round").asInt(1) == run.path("round").asInt(1)).findFirst();
    }

    private static double median(List<JsonNode> group, String field) {
        return median(group, r -> r.path(field).asDouble(Double.NaN));
    }

    private static double median(List<JsonNode> group, ToDoubleFunction<JsonNode> figure) {
        return median(group.stream().mapToDouble(figure).toArray());
    }

    /** The median of a decode-loop figure over the group's rounds, or blank for a server without the loop. */
    private static String loopColumn(List<JsonNode> group, String format, ToDoubleFunction<JsonNode> figure) {
        return group.getFirst().has("loop") ? String.format(Locale.ROOT, format, median(group, figure)) : "";
    }

    /** A decode-loop figure of the run over its steps. */
    private static double perStep(JsonNode run, String field) {
        return run.path("loop").path(field).asDouble() / Math.max(1, run.path("loop").path("steps").asLong());
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n == 0 ? Double.NaN : n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /** "0.91× [0.85, 0.97]", or "0.91×" for one round, or "" for none. */
    static String range(double[] v) {
        if (v.length == 0) {
            return "";
        }
        double lo = Arrays.stream(v).min().orElseThrow(), hi = Arrays.stream(v).max().orElseThrow();
        return v.length == 1 ? String.format(Locale.ROOT, "%.2f×", v[0])
                : String.format(Locale.ROOT, "%.2f× [%.2f, %.2f]", median(v), lo, hi);
    }
}
