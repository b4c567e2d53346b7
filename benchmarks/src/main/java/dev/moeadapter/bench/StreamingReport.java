package dev.moeadapter.bench;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The serving benchmark's table ({@code benchmarks/serving.sh}): each run of {@link StreamingLoad}
 * with its ratios to llama-server's run at the same client count (throughput; p99 inter-token
 * latency), and for the mixed run each plain client's tokens/s against a client's in the 8-plain run.
 * {@code StreamingReport serving.jsonl}
 */
public final class StreamingReport {
    private StreamingReport() {}

    public static void main(String[] args) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> runs = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[0]))) {
            if (!line.isBlank()) {
                runs.add(json.readTree(line));
            }
        }
        System.out.println("| run | clients | tokens/s | vs llama-server | TTFT p50 / p99 ms | ITL p50 / p99 ms | p99 ITL vs llama-server | errors |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|");
        for (JsonNode r : runs) {
            JsonNode ref = reference(runs, r.get("clients").asInt());
            double tps = r.get("tokens_per_s").asDouble();
            System.out.println(String.format(Locale.ROOT, "| %s | %d | %.1f | %s | %.1f / %.1f | %.1f / %.1f | %s | %d |", r.get("label").asString(),
                    r.get("clients").asInt(), tps, ref == null ? "" : String.format(Locale.ROOT, "%.2f×", tps / ref.get("tokens_per_s").asDouble()),
                    r.get("ttft_p50_ms").asDouble(), r.get("ttft_p99_ms").asDouble(), r.get("itl_p50_ms").asDouble(),
                    r.get("itl_p99_ms").asDouble(), ref == null ? ""
                            : String.format(Locale.ROOT, "%.2f×", r.get("itl_p99_ms").asDouble() / ref.get("itl_p99_ms").asDouble()),
                    r.get("errors").asInt()));
        }
        JsonNode plain8 = runs.stream().filter(r -> r.get("label").asString().equals("decode loop (8 lanes)")).findFirst().orElse(null);
        JsonNode mixed = runs.stream().filter(r -> r.has("arms")).findFirst().orElse(null);
        if (plain8 != null && mixed != null && mixed.path("arms").has("none")) {
            double alone = plain8.get("tokens_per_s").asDouble() / plain8.get("clients").asInt();
            double beside = mixed.path("arms").path("none").get("tokens_per_s_per_client").asDouble();
            System.out.println(String.format(Locale.ROOT, "%nWith 4 SCMoE clients beside them, each plain client got %.1f tokens/s against %.1f in the"
                    + " 8-plain run: %.2f (target at least 8/12 = 0.67: the weak rows' share and no more).", beside, alone, beside / alone));
        }
    }

    private static JsonNode reference(List<JsonNode> runs, int clients) {
        return runs.stream().filter(r -> r.get("label").asString().startsWith("llama-server") && r.get("clients").asInt() == clients)
                .findFirst().orElse(null);
    }
}
