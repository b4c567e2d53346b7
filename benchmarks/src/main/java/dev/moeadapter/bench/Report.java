package dev.moeadapter.bench;

import dev.moeadapter.bench.EngineBenchmark.Options;
import dev.moeadapter.bench.EngineBenchmark.Settings;
import dev.moeadapter.bench.Results.EngineResult;
import dev.moeadapter.bench.Results.LlamaBenchEntry;
import dev.moeadapter.bench.Results.ModelSummary;
import dev.moeadapter.bench.Results.Row;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code EngineBenchmark report}: reads what the measuring steps wrote and prints one table with every
 * row's ratio to both llama-bench builds, the targets judged per like-for-like pair, and writes it all
 * as JSON. Inputs (all optional; a missing one becomes a skipped row):
 * {@code --llama-bench-native F --llama-bench-prebuilt F} (llama-bench {@code -o json}),
 * {@code --engine-native F --engine-prebuilt F} ({@code EngineBenchmark engine}),
 * {@code --engine-cuda F} (the engine on a CUDA build, GPU layers offloaded; no llama-bench anchor, listed
 * only when given), {@code --jllama F --jllama-log L} ({@code EngineBenchmark jllama} and its stdout),
 * {@code --engine-sigmoid-bias F} ({@code EngineBenchmark engine --rows sigmoid-bias} on a model of its
 * own, so judged only as edits / no plan). All but the jllama ones may be given once per round
 * ({@code --rounds}): a row's samples are those of all its rounds.
 * {@code --strict}: exit 4 when a target of the headline (native) pair is missed.
 */
final class Report {
    static final double TARGET_NO_PLAN = 0.95, TARGET_EDITS = 0.85;
    static final String LB_NATIVE = "llama-bench-native", LB_PREBUILT = "llama-bench-prebuilt-libs";

    /** A like-for-like pair: llama-bench and the engine on the same llama.cpp build. */
    record Pair(String name, String anchor, String natives) {}

    static final List<Pair> PAIRS = List.of(new Pair("native", LB_NATIVE, "native"), new Pair("prebuilt", LB_PREBUILT, "prebuilt"));

    record Ratio(double pp, double tg) {}

    record TargetCheck(String pair, String row, double minRatio, double ppRatio, double tgRatio, boolean ppMet, boolean tgMet) {}

    record Config(int threads, int nPrompt, int nGen, int reps, int rounds, float editScale, long seed, int gpuLayers) {}

    /** The sigmoid-with-bias model's two rows and the cost of the edits there, measured in the same run. */
    record SigmoidBias(ModelSummary model, List<Row> rows, Ratio editsOverNoPlan) {}

    record Output(String benchmark, String timestamp, Map<String, Object> machine, Config config, ModelSummary model,
                  List<Row> rows, Map<String, Map<String, Ratio>> ratios, List<TargetCheck> targets,
                  boolean headlineTargetsMet, SigmoidBias sigmoidBias, String tableMarkdown) {}

    private final Settings c;
    private final Options o;
    private final int rounds;

    Report(Settings c, Options o) {
        this.c = c;
        this.o = o;
        this.rounds = o.positive("--rounds", 1);
    }

    int run(Path out) throws IOException {
        List<Row> rows = new ArrayList<>();
        rows.add(llamaBench(LB_NATIVE, "llama-bench, native build", o.paths("--llama-bench-native")));
        ModelSummary nat = engine(rows, "native", o.paths("--engine-native"));
        rows.add(llamaBench(LB_PREBUILT, "llama-bench on the prebuilt libs", o.paths("--llama-bench-prebuilt")));
        ModelSummary pre = engine(rows, "prebuilt", o.paths("--engine-prebuilt"));
        ModelSummary cuda = o.paths("--engine-cuda").isEmpty() ? null : engine(rows, "cuda", o.paths("--engine-cuda"));
        rows.add(jllama(o.paths("--jllama"), o.paths("--jllama-log")));
        SigmoidBias bias = sigmoidBias(o.paths("--engine-sigmoid-bias"));

        Map<String, Map<String, Ratio>> ratios = new LinkedHashMap<>();
        for (Row r : rows) {
            Map<String, Ratio> m = new LinkedHashMap<>();
            for (Pair p : PAIRS) {
                Row a = find(rows, p.anchor());
                if (r.ok() && a.ok() && r != a) {
                    m.put(p.anchor(), ratio(r, a));
                }
            }
            ratios.put(r.id(), m);
        }
        List<TargetCheck> targets = new ArrayList<>();
        for (Pair p : PAIRS) {
            Row anchor = find(rows, p.anchor());
            for (String kind : List.of("no-plan", "all-layer-edits")) {
                Row r = find(rows, "engine-" + p.natives() + "-" + kind);
                if (r.ok() && anchor.ok()) {
                    double min = kind.equals("no-plan") ? TARGET_NO_PLAN : TARGET_EDITS;
                    Ratio q = ratio(r, anchor);
                    targets.add(new TargetCheck(p.name(), r.id(), min, q.pp(), q.tg(), q.pp() >= min, q.tg() >= min));
                }
            }
        }
        List<TargetCheck> headline = targets.stream().filter(t -> t.pair().equals("native")).toList();
        boolean met = headline.size() == 2 && headline.stream().allMatch(t -> t.ppMet() && t.tgMet());
        ModelSummary model = nat != null ? nat : pre != null ? pre : cuda;

        // a run of the sigmoid-with-bias rows alone has no main table
        String table = (rows.stream().anyMatch(Row::ok) ? table(rows, model, targets) : "") + sigmoidBiasTable(bias);
        Results.write(out, new Output("MoE Adapter engine throughput (llama-bench pp/tg definitions)", Instant.now().toString(),
                machine(), new Config(c.threads(), c.prompt(), c.gen(), c.reps(), rounds, c.editScale(), c.seed(), c.gpuLayers()), model, rows, ratios,
                targets, met, bias, table));
        System.out.println();
        System.out.println(table);
        System.out.println("results: " + out);
        if (o.flags().contains("--strict") && !met) {
            System.err.println("error: throughput targets missed (--strict)");
            return 4;
        }
        return 0;
    }

    private static Row find(List<Row> rows, String id) {
        return rows.stream().filter(r -> r.id().equals(id)).findFirst()
                .orElse(new Row(id, id, "skipped", "not run", null, null, Map.of()));
    }

    private static Ratio ratio(Row r, Row anchor) {
        return new Ratio(r.pp().mean() / anchor.pp().mean(), r.tg().mean() / anchor.tg().mean());
    }

    // ------------------------------------------------------------------ inputs

    /** The sigmoid-with-bias model's rows (whichever natives they ran on), or null when they were not run. */
    private SigmoidBias sigmoidBias(List<Path> files) {
        if (files.isEmpty()) {
            return null;
        }
        try {
            EngineResult e = pooled(files);
            return new SigmoidBias(e.model(), e.rows(), ratio(e.rows().get(1), e.rows().get(0)));
        } catch (IOException | RuntimeException e) {
            return new SigmoidBias(null, List.of(Row.failed("sigmoid-bias", "engine, sigmoid-with-bias model", String.valueOf(e), Map.of())), null);
        }
    }

    /** An engine step's two rows (no plan, edits), pooled over its rounds' files. */
    private static EngineResult pooled(List<Path> files) throws IOException {
        EngineResult all = null;
        for (Path f : files) {
            EngineResult e = Results.read(f, EngineResult.class);
            all = all == null ? e : new EngineResult(e.model(), List.of(pool(all.rows().get(0), e.rows().get(0)), pool(all.rows().get(1), e.rows().get(1))));
        }
        return all;
    }

    /** How rows name a native library set. */
    static String where(String natives) {
        return switch (natives) {
            case "native" -> "native build";
            case "prebuilt" -> "prebuilt libs";
            default -> natives + " build";
        };
    }

    /** The engine's two rows on one native set, pooled over rounds; returns the model, or null when there is no result. */
    private ModelSummary engine(List<Row> rows, String natives, List<Path> files) {
        String where = where(natives);
        String noPlan = "engine-" + natives + "-no-plan", edits = "engine-" + natives + "-all-layer-edits";
        try {
            if (files.isEmpty()) {
                rows.add(new Row(noPlan, "engine on " + where + ", no plan", "skipped", "not run", null, null, Map.of()));
                rows.add(new Row(edits, "engine on " + where + ", AddDelta on all MoE layers", "skipped", "not run", null, null, Map.of()));
                return null;
            }
            EngineResult e = pooled(files);
            rows.addAll(e.rows());
            return e.model();
        } catch (IOException | RuntimeException e) {
            rows.add(Row.failed(noPlan, "engine on " + where + ", no plan", String.valueOf(e), Map.of()));
            rows.add(Row.failed(edits, "engine on " + where + ", AddDelta on all MoE layers", String.valueOf(e), Map.of()));
            return null;
        }
    }

    private static Row pool(Row a, Row b) {
        if (!a.id().equals(b.id())) {
            throw new IllegalArgumentException("rounds disagree: " + a.id() + " vs " + b.id());
        }
        return new Row(a.id(), a.label(), a.status(), a.error(), a.pp().concat(b.pp()), a.tg().concat(b.tg()), a.details());
    }

    /** llama-bench's pp and tg entries, pooled over rounds (one {@code -o json} file each). */
    private Row llamaBench(String id, String label, List<Path> files) {
        if (files.isEmpty()) {
            return new Row(id, label, "skipped", "not run", null, null, Map.of());
        }
        try {
            Series pp = null, tg = null;
            Map<String, Object> details = null;
            for (Path file : files) {
                JsonNode entries = Results.JSON.readTree(Files.readString(file));
                for (JsonNode node : entries) {
                    LlamaBenchEntry e = Results.JSON.treeToValue(node, LlamaBenchEntry.class);
                    if (e.nThreads() != c.threads()) {
                        throw new IllegalArgumentException("llama-bench ran with " + e.nThreads() + " threads, not " + c.threads());
                    }
                    Series s = new Series(e.nPrompt() + e.nGen(), e.samplesTs());
                    if (e.nPrompt() == c.prompt() && e.nGen() == 0) {
                        pp = pp == null ? s : pp.concat(s);
                    } else if (e.nPrompt() == 0 && e.nGen() == c.gen()) {
                        tg = tg == null ? s : tg.concat(s);
                    }
                }
                if (details == null && !entries.isEmpty()) {
                    // its build and settings (those of the first test; the tests differ only in what is measured)
                    @SuppressWarnings("unchecked")
                    Map<String, Object> d = Results.JSON.convertValue(entries.get(0), LinkedHashMap.class);
                    d.keySet().removeAll(List.of("n_prompt", "n_gen", "n_depth", "test_time", "avg_ns", "stddev_ns", "avg_ts",
                            "stddev_ts", "samples_ns", "samples_ts"));
                    details = d;
                }
            }
            if (pp == null || tg == null) {
                throw new IllegalArgumentException("no pp" + c.prompt() + " and tg" + c.gen() + " entries in " + files);
            }
            details.put("json", files.stream().map(Path::toString).toList());
            return Row.measured(id, label, pp, tg, details);
        } catch (IOException | RuntimeException e) {
            return Row.failed(id, label, String.valueOf(e), Map.of());
        }
    }

    private Row jllama(List<Path> files, List<Path> logs) {
        Path file = files.isEmpty() ? null : files.getLast(), log = logs.isEmpty() ? null : logs.getLast();
        if (file == null) {
            return new Row(JavaLlamaBench.ID, JavaLlamaBench.LABEL, "skipped", "not run", null, null, Map.of());
        }
        Row r;
        try {
            r = Results.read(file, Row.class);
        } catch (IOException | RuntimeException e) {
            r = Row.failed(JavaLlamaBench.ID, JavaLlamaBench.LABEL, "no result (the JVM crashed while loading?): " + e, Map.of());
        }
        Map<String, Object> details = new LinkedHashMap<>(Objects.requireNonNullElse(r.details(), Map.of()));
        if (log != null) {
            details.put("log", log.toString());
            serverLog(log, details);
        }
        details.put("method", "pp = N / wall(complete(N-token prompt, n_predict=1)); tg = G / (wall(complete(3-token prompt, "
                + "n_predict=G+1)) - wall(complete(same, n_predict=1))); cache_prompt=false, greedy, ignore EOS, 1 slot");
        return new Row(r.id(), r.label(), r.status(), r.error(), r.pp(), r.tg(), details);
    }

    private static final Pattern TIMINGS = Pattern.compile(
            "prompt eval time =\\s*([0-9.]+) ms /\\s*(\\d+) tokens[^\\n]*\\n\\s*eval time =\\s*([0-9.]+) ms /\\s*(\\d+) tokens");

    /**
     * java-llama.cpp's server prints its own per-request timings to stdout: the last {@code reps x
     * rounds} requests (java-llama.cpp runs once, with all repetitions) with N prompt tokens and 1
     * generated token are the measured prefills (pp = N / prompt eval time), the last ones with G+1
     * generated tokens the measured generations (tg = G decodes / eval time). Also checks that the
     * prompt was N tokens.
     */
    private void serverLog(Path log, Map<String, Object> details) {
        try {
            String text = Files.readString(log, StandardCharsets.ISO_8859_1);
            Matcher b = Pattern.compile("build: (\\d+ \\([0-9a-f]+\\))").matcher(text);
            if (b.find()) {
                details.put("llama_cpp_build", b.group(1));
            }
            Matcher si = Pattern.compile("system_info: ([^\\n]*)").matcher(text);
            if (si.find()) {
                details.put("system_info", si.group(1).trim());
            }
            List<Double> pp = new ArrayList<>(), tg = new ArrayList<>();
            TreeSet<Integer> promptSizes = new TreeSet<>();
            Matcher m = TIMINGS.matcher(text);
            while (m.find()) {
                double promptMs = Double.parseDouble(m.group(1)), evalMs = Double.parseDouble(m.group(3));
                int promptTokens = Integer.parseInt(m.group(2)), evalTokens = Integer.parseInt(m.group(4));
                if (evalTokens == 1 && promptTokens > 3) {
                    promptSizes.add(promptTokens);
                    pp.add(promptTokens / (promptMs / 1e3));
                } else if (evalTokens == c.gen() + 1) {
                    tg.add(c.gen() / (evalMs / 1e3));
                }
            }
            if (pp.isEmpty() && tg.isEmpty()) {
                details.put("server_timings", "not found in the log");
                return;
            }
            details.put("server_prompt_tokens", promptSizes.toString());
            if (!promptSizes.equals(new TreeSet<>(List.of(c.prompt())))) {
                details.put("warning", "the server processed prompts of " + promptSizes + " tokens, not " + c.prompt());
            }
            details.put("server_reported_pp", new Series(c.prompt(), last(pp, c.reps() * rounds)));
            details.put("server_reported_tg", new Series(c.gen(), last(tg, c.reps() * rounds)));
        } catch (IOException | RuntimeException e) {
            details.put("server_timings", "unreadable: " + e);
        }
    }

    private static double[] last(List<Double> v, int n) {
        return v.subList(Math.max(0, v.size() - n), v.size()).stream().mapToDouble(Double::doubleValue).toArray();
    }

    // ------------------------------------------------------------------ output

    private String table(List<Row> rows, ModelSummary model, List<TargetCheck> targets) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "Model %s (%s, %.0f MiB), %d threads, pp%d / tg%d, %d rounds x %d repetitions, %s (%d CPUs)%n%n",
                model == null ? "?" : model.description(), c.model().getFileName(),
                model == null ? 0 : model.sizeBytes() / 1048576.0, c.threads(), c.prompt(), c.gen(), rounds, c.reps(), cpuModel(),
                Runtime.getRuntime().availableProcessors()));
        String fmt = "| %-54s | %16s | %6s | %6s | %16s | %6s | %6s |%n";
        b.append(String.format(Locale.ROOT, fmt, "", "pp" + c.prompt() + " t/s", "× lb-n", "× lb-p", "tg" + c.gen() + " t/s", "× lb-n", "× lb-p"));
        b.append(String.format(Locale.ROOT, "|%s|%s:|%s:|%s:|%s:|%s:|%s:|%n", "-".repeat(56), "-".repeat(17), "-".repeat(7),
                "-".repeat(7), "-".repeat(17), "-".repeat(7), "-".repeat(7)));
        Row n = find(rows, LB_NATIVE), p = find(rows, LB_PREBUILT);
        for (Row r : rows) {
            if (r.ok()) {
                b.append(String.format(Locale.ROOT, fmt, r.label(), pm(r.pp()), rat(r, n, true), rat(r, p, true),
                        pm(r.tg()), rat(r, n, false), rat(r, p, false)));
            } else {
                String why = Objects.requireNonNullElse(r.error(), "");
                why = why.length() > 120 ? why.substring(0, 117) + "..." : why;
                b.append(String.format(Locale.ROOT, "| %-54s | %s: %s | | | | | |%n", r.label(), r.status(), why.replace('|', '/')));
            }
        }
        b.append("\nlb-n = llama-bench, native build; lb-p = llama-bench on the engine's prebuilt libraries; mean ± sample stddev\n");
        for (Pair pair : PAIRS) {
            b.append(String.format(Locale.ROOT, "Targets, %s pair (engine on the %s libraries vs %s)%s:%n", pair.name(), pair.name(),
                    pair.anchor(), pair.name().equals("native") ? " [headline]" : ""));
            List<TargetCheck> ts = targets.stream().filter(t -> t.pair().equals(pair.name())).toList();
            if (ts.isEmpty()) {
                b.append("  not evaluated (rows missing)\n");
            }
            for (TargetCheck t : ts) {
                b.append(String.format(Locale.ROOT, "  %-36s >= %.2f: pp %s, tg %s%n", t.row(), t.minRatio(),
                        verdict(t.ppRatio(), t.minRatio()), verdict(t.tgRatio(), t.minRatio())));
            }
        }
        return b.toString();
    }

    private String sigmoidBiasTable(SigmoidBias bias) {
        if (bias == null) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%nSigmoid with selection bias and expert groups: %s (%s, %.0f MiB), same settings and rounds%n%n",
                bias.model() == null ? "?" : bias.model().description(),
                bias.model() == null ? "?" : Path.of(bias.model().path()).getFileName(),
                bias.model() == null ? 0 : bias.model().sizeBytes() / 1048576.0));
        String fmt = "| %-78s | %16s | %16s |%n";
        b.append(String.format(Locale.ROOT, fmt, "", "pp" + c.prompt() + " t/s", "tg" + c.gen() + " t/s"));
        b.append(String.format(Locale.ROOT, "|%s|%s:|%s:|%n", "-".repeat(80), "-".repeat(17), "-".repeat(17)));
        for (Row r : bias.rows()) {
            b.append(r.ok() ? String.format(Locale.ROOT, fmt, r.label(), pm(r.pp()), pm(r.tg()))
                    : String.format(Locale.ROOT, "| %-78s | %s: %s | |%n", r.label(), r.status(), String.valueOf(r.error()).replace('|', '/')));
        }
        Ratio q = bias.editsOverNoPlan();
        if (q != null) {
            b.append(String.format(Locale.ROOT, fmt, "edits / no plan", String.format(Locale.ROOT, "%.3f", q.pp()),
                    String.format(Locale.ROOT, "%.3f", q.tg())));
        }
        return b.toString();
    }

    private static String rat(Row r, Row anchor, boolean pp) {
        if (!anchor.ok()) {
            return "n/a";
        }
        Ratio q = ratio(r, anchor);
        return String.format(Locale.ROOT, "%.3f", pp ? q.pp() : q.tg());
    }

    private static String verdict(double ratio, double min) {
        return ratio >= min ? String.format(Locale.ROOT, "met (%.3f)", ratio)
                : String.format(Locale.ROOT, "MISSED (%.3f, %.1f points short)", ratio, (min - ratio) * 100);
    }

    private static String pm(Series s) {
        return String.format(Locale.ROOT, "%.2f ± %.2f", s.mean(), s.stddev());
    }

    private static Map<String, Object> machine() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", cpuModel());
        m.put("nproc", Runtime.getRuntime().availableProcessors());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        try {
            m.put("loadavg_at_report", Files.readString(Path.of("/proc/loadavg")).trim());
        } catch (IOException e) {
            m.put("loadavg_at_report", "unknown");
        }
        return m;
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException ignored) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }
}
