package dev.moeadapter.bench;

import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Engine throughput benchmark: prefill (pp) and decode (tg) tokens/s of one GGUF at one thread
 * count, for
 * <ol>
 * <li>llama.cpp's own {@code llama-bench} (read from its {@code -o json} output, {@code --llama-bench-json}),
 *     and optionally the same llama-bench linked against the engine's prebuilt libraries
 *     ({@code --llama-bench-prebuilt-json}, a diagnostic anchor),</li>
 * <li>this engine with no routing plan,</li>
 * <li>this engine with an {@link RouterEdit.AddDelta} on every MoE layer, for all positions,</li>
 * <li>java-llama.cpp ({@code de.kherud:llama}), in a child JVM, where it can load the model.</li>
 * </ol>
 * Definitions follow llama-bench: pp = one batch of N prompt tokens (random ids, BOS first) decoded
 * from an empty KV cache; tg = G single-token decodes from an empty cache; each after one warm-up
 * prompt run and one warm-up decode; tokens/s = mean over repetitions of tokens / seconds, with the
 * sample standard deviation. Writes a JSON file and prints a Markdown table with ratios to llama-bench.
 *
 * <pre>
 * EngineBenchmark --model M.gguf [--threads 2] [--prompt 512] [--gen 128] [--reps 3]
 *                 [--out results.json] [--llama-bench-json lb.json] [--llama-bench-prebuilt-json lbp.json] [--no-jllama]
 *                 [--edit-scale 0.01] [--seed 42] [--strict]
 * </pre>
 */
public final class EngineBenchmark {
    static final double TARGET_NO_PLAN = 0.95, TARGET_EDITS = 0.85;
    static final String LB = "llama-bench", LB_PRE = "llama-bench-prebuilt-libs";

    record Config(Path model, int threads, int prompt, int gen, int reps, Path out, Path llamaBenchJson,
                  Path llamaBenchPrebuiltJson, boolean jllama, float editScale, long seed, boolean strict, Path jllamaChild) {}

    record Row(String id, String label, String status, String error, Series pp, Series tg, Map<String, Object> details) {
        boolean ok() {
            return "ok".equals(status);
        }
    }

    private EngineBenchmark() {}

    public static void main(String[] args) {
        if (System.getProperty("logback.configurationFile") == null) {
            // the adapter-core test-jar (for RandomModels) brings a logback-test.xml; use ours
            System.setProperty("logback.configurationFile", "bench-logback.xml");
        }
        Config c;
        try {
            c = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println("usage: EngineBenchmark --model M.gguf [--threads 2] [--prompt 512] [--gen 128] [--reps 3]"
                    + " [--out results.json] [--llama-bench-json lb.json] [--llama-bench-prebuilt-json lbp.json] [--no-jllama]"
                    + " [--edit-scale 0.01] [--seed 42] [--strict]");
            System.exit(2);
            return;
        }
        if (c.jllamaChild() != null) {
            JavaLlamaBench.run(c, c.jllamaChild());
            System.exit(0);
        }
        System.exit(new EngineBenchmark().run(c));
    }

    static Config parse(String[] a) {
        Path model = null, out = Path.of("engine-benchmark.json"), lb = null, lbPre = null, child = null;
        int threads = 2, prompt = 512, gen = 128, reps = 3;
        boolean jllama = true, strict = false;
        float scale = 0.01f;
        long seed = 42;
        for (int i = 0; i < a.length; i++) {
            String k = a[i];
            switch (k) {
                case "--no-jllama" -> jllama = false;
                case "--strict" -> strict = true;
                default -> {
                    if (i + 1 >= a.length) {
                        throw new IllegalArgumentException("missing value for " + k);
                    }
                    String v = a[++i];
                    try {
                        switch (k) {
                            case "--model" -> model = Path.of(v);
                            case "--threads" -> threads = Integer.parseInt(v);
                            case "--prompt" -> prompt = Integer.parseInt(v);
                            case "--gen" -> gen = Integer.parseInt(v);
                            case "--reps" -> reps = Integer.parseInt(v);
                            case "--out" -> out = Path.of(v);
                            case "--llama-bench-json" -> lb = Path.of(v);
                            case "--llama-bench-prebuilt-json" -> lbPre = Path.of(v);
                            case "--edit-scale" -> scale = Float.parseFloat(v);
                            case "--seed" -> seed = Long.parseLong(v);
                            case "--jllama-child" -> child = Path.of(v);
                            default -> throw new IllegalArgumentException("unknown option " + k);
                        }
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("bad number for " + k + ": " + v);
                    }
                }
            }
        }
        if (model == null) {
            throw new IllegalArgumentException("--model is required");
        }
        if (threads < 1 || prompt < 1 || gen < 1 || reps < 1) {
            throw new IllegalArgumentException("threads, prompt, gen and reps must be positive");
        }
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("--edit-scale must be a positive number");
        }
        return new Config(model.toAbsolutePath(), threads, prompt, gen, reps, out.toAbsolutePath(),
                lb == null ? null : lb.toAbsolutePath(), lbPre == null ? null : lbPre.toAbsolutePath(), jllama, scale, seed,
                strict, child);
    }

    private int run(Config c) {
        if (!Files.isRegularFile(c.model())) {
            System.err.println("error: model not found: " + c.model());
            return 2;
        }
        String loadBefore = loadAvg();
        List<Row> rows = new ArrayList<>();
        rows.add(c.llamaBenchJson() == null ? skipped(LB, "llama-bench", "no --llama-bench-json given")
                : llamaBench(c, LB, "llama-bench (native build)", c.llamaBenchJson()));
        if (c.llamaBenchPrebuiltJson() != null) {
            rows.add(llamaBench(c, LB_PRE, "llama-bench on the engine's prebuilt libs", c.llamaBenchPrebuiltJson()));
        }
        Map<String, Object> modelJson = new LinkedHashMap<>();
        rows.addAll(engine(c, modelJson));
        rows.add(c.jllama() ? jllama(c) : skipped("java-llama.cpp", "java-llama.cpp 4.2.0", "--no-jllama"));
        String loadAfter = loadAvg();

        Row ref = rows.getFirst();
        Row pre = rows.stream().filter(r -> r.id().equals(LB_PRE)).findFirst()
                .orElse(skipped(LB_PRE, "llama-bench on the engine's prebuilt libs", "not run"));
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("benchmark", "MoE Adapter engine throughput (llama-bench pp/tg definitions)");
        json.put("timestamp", Instant.now().toString());
        json.put("machine", machine(loadBefore, loadAfter));
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("threads", c.threads());
        config.put("n_prompt", c.prompt());
        config.put("n_gen", c.gen());
        config.put("reps", c.reps());
        config.put("edit_scale", c.editScale());
        config.put("seed", c.seed());
        json.put("config", config);
        json.put("model", modelJson);
        List<Object> rowsJson = new ArrayList<>();
        Map<String, Object> ratios = new LinkedHashMap<>(), ratiosPre = new LinkedHashMap<>();
        for (Row r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", r.id());
            m.put("label", r.label());
            m.put("status", r.status());
            if (r.error() != null) {
                m.put("error", r.error());
            }
            if (r.ok()) {
                m.put("pp", r.pp().toJson());
                m.put("tg", r.tg().toJson());
            }
            m.put("details", r.details());
            rowsJson.add(m);
            if (r.ok() && ref.ok() && r != ref) {
                ratios.put(r.id(), ppTg(ratio(r.pp(), ref.pp()), ratio(r.tg(), ref.tg())));
            }
            if (r.ok() && pre.ok() && r != pre && r != ref) {
                ratiosPre.put(r.id(), ppTg(ratio(r.pp(), pre.pp()), ratio(r.tg(), pre.tg())));
            }
        }
        json.put("rows", rowsJson);
        json.put("ratios_vs_llama_bench", ratios);
        json.put("ratios_vs_llama_bench_prebuilt_libs", ratiosPre);
        Map<String, Object> targets = targets(rows, ref, pre);
        json.put("targets", targets);

        String table = table(c, rows, ref, pre, modelJson, targets);
        json.put("table_markdown", table);
        try {
            Files.createDirectories(c.out().getParent());
            Files.writeString(c.out(), Json.write(json));
        } catch (IOException e) {
            System.err.println("error: cannot write " + c.out() + ": " + e.getMessage());
            return 1;
        }
        System.out.println();
        System.out.println(table);
        System.out.println("results: " + c.out());

        boolean engineOk = rows.stream().filter(r -> r.id().startsWith("engine")).allMatch(Row::ok);
        if (!engineOk) {
            System.err.println("error: the engine benchmark failed (see above)");
            return 1;
        }
        for (Row r : List.of(ref, pre)) {
            if ("failed".equals(r.status())) {
                System.err.println("error: could not read " + r.label() + " results: " + r.error());
                return 1;
            }
        }
        if (c.strict() && Boolean.FALSE.equals(targets.get("all_met"))) {
            System.err.println("error: throughput targets missed (--strict)");
            return 4;
        }
        return 0;
    }

    // ------------------------------------------------------------------ engine

    private List<Row> engine(Config c, Map<String, Object> modelJson) {
        String noPlanLabel = "engine, no plan";
        try (Model model = Model.load(ModelParams.of(c.model()))) {
            ModelInfo info = model.info();
            modelJson.put("path", c.model().toString());
            modelJson.put("size_bytes", Files.size(c.model()));
            modelJson.put("description", info.description());
            modelJson.put("architecture", info.architecture());
            modelJson.put("layers", info.layers());
            modelJson.put("moe_layers", info.moeLayers().size());
            modelJson.put("experts", info.experts());
            modelJson.put("experts_used", info.expertsUsed());
            modelJson.put("embedding", info.embeddingSize());
            modelJson.put("vocab", info.vocabSize());
            if (!info.isMoe()) {
                throw new IllegalStateException("the model has no MoE layers; the all-layer edit row needs a MoE model");
            }
            Map<String, Object> common = new LinkedHashMap<>();
            common.put("cpu_backend_library", cpuBackendLibraries());
            common.put("session", "context " + (c.prompt() + c.gen()) + ", batch = ubatch = " + c.prompt()
                    + ", 1 sequence, threads = batch threads = " + c.threads());

            System.err.printf(Locale.ROOT, "[bench] engine, no plan: pp%d x%d, tg%d x%d%n", c.prompt(), c.reps(), c.gen(), c.reps());
            EngineRun plain = engineRun(model, c, RoutingPlan.EMPTY);

            Random rnd = new Random(c.seed() ^ 0x5eed);
            List<RouterEdit> edits = new ArrayList<>();
            for (int layer : info.moeLayers()) {
                float[] d = new float[info.experts()];
                for (int e = 0; e < d.length; e++) {
                    d[e] = (float) (rnd.nextGaussian() * c.editScale());
                    if (d[e] == 0f) {
                        d[e] = c.editScale();
                    }
                }
                edits.add(new RouterEdit.AddDelta(layer, d, PositionRange.ALL));
            }
            String editLabel = "engine, AddDelta on all " + edits.size() + " MoE layers";
            System.err.printf(Locale.ROOT, "[bench] %s: pp%d x%d, tg%d x%d%n", editLabel, c.prompt(), c.reps(), c.gen(), c.reps());
            EngineRun edited = engineRun(model, c, new RoutingPlan(edits));

            double maxDiff = 0;
            for (int i = 0; i < plain.probeLogits.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(plain.probeLogits[i] - edited.probeLogits[i]));
            }
            Map<String, Object> d1 = new LinkedHashMap<>(common);
            d1.put("plan", "none");
            Map<String, Object> d2 = new LinkedHashMap<>(common);
            d2.put("plan", edits.size() + " x AddDelta (one per MoE layer, positions [0, inf), delta ~ N(0, "
                    + c.editScale() + "^2) per expert)");
            d2.put("edited_layers", edits.size());
            d2.put("probe_max_abs_logit_change", maxDiff);
            if (maxDiff == 0) {
                d2.put("warning", "the edits did not change the logits of a probe prompt");
            }
            return List.of(new Row("engine-no-plan", noPlanLabel, "ok", null, plain.pp, plain.tg, d1),
                    new Row("engine-all-layer-edits", editLabel, "ok", null, edited.pp, edited.tg, d2));
        } catch (Throwable t) {
            t.printStackTrace();
            Row f = new Row("engine-no-plan", noPlanLabel, "failed", String.valueOf(t), null, null, Map.of());
            Row g = new Row("engine-all-layer-edits", "engine, AddDelta on all MoE layers", "failed", String.valueOf(t), null, null, Map.of());
            return List.of(f, g);
        }
    }

    private record EngineRun(Series pp, Series tg, float[] probeLogits) {}

    private static EngineRun engineRun(Model model, Config c, RoutingPlan plan) {
        ModelInfo info = model.info();
        int n = c.prompt(), g = c.gen();
        SessionParams sp = new SessionParams(n + g, n, 1, c.threads(), c.threads());
        Random rnd = new Random(c.seed());
        try (Session s = model.newSession(sp)) {
            if (!plan.isEmpty()) {
                s.setPlan(0, plan);
            }
            // warm-up as llama-bench: one prompt run, then one generation step
            s.clear();
            s.decode(Batch.of(0, 0, promptTokens(info, n, rnd)));
            s.decode(Batch.of(0, n, rnd.nextInt(info.vocabSize())));

            double[] ppSecs = new double[c.reps()];
            for (int r = 0; r < c.reps(); r++) {
                s.clear();
                Batch batch = Batch.of(0, 0, promptTokens(info, n, rnd));
                long t0 = System.nanoTime();
                s.decode(batch);
                ppSecs[r] = (System.nanoTime() - t0) / 1e9;
            }
            double[] tgSecs = new double[c.reps()];
            for (int r = 0; r < c.reps(); r++) {
                s.clear();
                int[] tokens = new int[g];
                tokens[0] = info.addBos() ? info.bos() : rnd.nextInt(info.vocabSize());
                for (int i = 1; i < g; i++) {
                    tokens[i] = rnd.nextInt(info.vocabSize());
                }
                long t0 = System.nanoTime();
                for (int i = 0; i < g; i++) {
                    s.decode(Batch.of(0, i, tokens[i]));
                }
                tgSecs[r] = (System.nanoTime() - t0) / 1e9;
            }
            // outside the timings: logits of a fixed probe prompt, to show that the plan is applied
            s.clear();
            int[] probe = promptTokens(info, 32, new Random(7));
            s.decode(Batch.of(0, 0, probe));
            float[] logits = s.logits(probe.length - 1);
            return new EngineRun(Series.ofSeconds(n, ppSecs), Series.ofSeconds(g, tgSecs), logits);
        }
    }

    /** Random token ids, BOS first where the model adds one (as llama-bench's test_prompt). */
    private static int[] promptTokens(ModelInfo info, int n, Random rnd) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rnd.nextInt(info.vocabSize());
        }
        if (info.addBos()) {
            t[0] = info.bos();
        }
        return t;
    }

    /** The ggml CPU backend variant(s) mapped into this process (the prebuilt libraries pick one at run time). */
    private static String cpuBackendLibraries() {
        try {
            TreeSet<String> libs = new TreeSet<>();
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int i = line.indexOf('/');
                if (i >= 0 && line.contains("libggml-cpu")) {
                    libs.add(Path.of(line.substring(i)).getFileName().toString());
                }
            }
            return libs.isEmpty() ? "built into libggml" : String.join(", ", libs);
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    // ------------------------------------------------------------------ llama-bench

    private static Row llamaBench(Config c, String id, String label, Path file) {
        try {
            Object parsed = Json.parse(Files.readString(file));
            if (!(parsed instanceof List<?> list)) {
                throw new IllegalArgumentException("expected a JSON array");
            }
            Series pp = null, tg = null;
            Map<String, Object> details = new LinkedHashMap<>();
            for (Object o : list) {
                if (!(o instanceof Map<?, ?> m)) {
                    continue;
                }
                int np = num(m.get("n_prompt")), ng = num(m.get("n_gen"));
                Series s = new Series(np + ng, doubles(m.get("samples_ts")));
                if (np == c.prompt() && ng == 0) {
                    pp = s;
                } else if (np == 0 && ng == c.gen()) {
                    tg = s;
                }
                for (String k : List.of("build_commit", "build_number", "cpu_info", "backends", "n_threads", "n_batch",
                        "n_ubatch", "type_k", "type_v", "flash_attn", "use_mmap", "model_type", "model_size", "model_n_params")) {
                    if (m.containsKey(k)) {
                        details.putIfAbsent(k, m.get(k));
                    }
                }
                Object nt = m.get("n_threads");
                if (nt != null && num(nt) != c.threads()) {
                    throw new IllegalArgumentException("llama-bench ran with " + num(nt) + " threads, not " + c.threads());
                }
            }
            if (pp == null || tg == null) {
                throw new IllegalArgumentException("no pp" + c.prompt() + " and tg" + c.gen() + " entries in " + file);
            }
            details.put("json", file.toString());
            return new Row(id, label, "ok", null, pp, tg, details);
        } catch (Exception e) {
            return new Row(id, label, "failed", String.valueOf(e), null, null, Map.of());
        }
    }

    private static int num(Object o) {
        return o instanceof Number n ? n.intValue() : -1;
    }

    private static double[] doubles(Object o) {
        if (!(o instanceof List<?> l) || l.isEmpty()) {
            throw new IllegalArgumentException("samples_ts missing");
        }
        double[] d = new double[l.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = ((Number) l.get(i)).doubleValue();
        }
        return d;
    }

    // ------------------------------------------------------------------ java-llama.cpp

    private static Row jllama(Config c) {
        String label = "java-llama.cpp 4.2.0";
        Path result = null, log = c.out().resolveSibling("jllama-child.log");
        try {
            result = Files.createTempFile("jllama-bench", ".properties");
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    EngineBenchmark.class.getName(), "--jllama-child", result.toString(),
                    "--model", c.model().toString(), "--threads", Integer.toString(c.threads()),
                    "--prompt", Integer.toString(c.prompt()), "--gen", Integer.toString(c.gen()),
                    "--reps", Integer.toString(c.reps()), "--seed", Long.toString(c.seed())));
            System.err.printf(Locale.ROOT, "[bench] %s (child JVM, log %s)%n", label, log);
            Files.createDirectories(log.getParent());
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                return new Row("java-llama.cpp", label, "failed", "timed out after 10 minutes", null, null, Map.of("log", log.toString()));
            }
            Properties props = new Properties();
            if (Files.size(result) > 0) {
                try (InputStream in = Files.newInputStream(result)) {
                    props.load(in);
                }
            }
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("exit_code", p.exitValue());
            details.put("log", log.toString());
            for (String k : new TreeSet<>(props.stringPropertyNames())) {
                if (!k.equals("status") && !k.equals("error") && !k.endsWith("_samples_ts")) {
                    details.put(k, props.getProperty(k));
                }
            }
            serverLog(c, log, details);
            details.put("method", "pp = N / wall(complete(N-token prompt, n_predict=1)); tg = G / (wall(complete(3-token prompt, "
                    + "n_predict=G+1)) - wall(complete(same, n_predict=1))); cache_prompt=false, greedy, ignore EOS, 1 slot");
            String status = props.getProperty("status");
            if (status == null) {
                String why = "child JVM exited with code " + p.exitValue() + " without a result (crashed while loading?); see " + log;
                return new Row("java-llama.cpp", label, "failed", why, null, null, details);
            }
            if (!"ok".equals(status)) {
                return new Row("java-llama.cpp", label, "failed", props.getProperty("error"), null, null, details);
            }
            return new Row("java-llama.cpp", label, "ok", null, new Series(c.prompt(), split(props.getProperty("pp_samples_ts"))),
                    new Series(c.gen(), split(props.getProperty("tg_samples_ts"))), details);
        } catch (Exception e) {
            return new Row("java-llama.cpp", label, "failed", String.valueOf(e), null, null, Map.of("log", log.toString()));
        } finally {
            if (result != null) {
                try {
                    Files.deleteIfExists(result);
                } catch (IOException ignored) {
                    // temp file
                }
            }
        }
    }

    private static final Pattern TIMINGS = Pattern.compile(
            "prompt eval time =\\s*([0-9.]+) ms /\\s*(\\d+) tokens[^\\n]*\\n\\s*eval time =\\s*([0-9.]+) ms /\\s*(\\d+) tokens");

    /**
     * The server's own per-request timings, printed by java-llama.cpp's native code to stdout: the
     * last {@code reps} requests with N prompt tokens and 1 generated token are the measured prefills
     * (pp = N / prompt eval time), the last {@code reps} with G+1 generated tokens the measured
     * generations (tg = G decodes / eval time). Also checks that the prompt was N tokens.
     */
    private static void serverLog(Config c, Path log, Map<String, Object> details) {
        try {
            String text = Files.readString(log, java.nio.charset.StandardCharsets.ISO_8859_1);
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
            details.put("server_reported_pp", new Series(c.prompt(), last(pp, c.reps())).toJson());
            details.put("server_reported_tg", new Series(c.gen(), last(tg, c.reps())).toJson());
        } catch (IOException | RuntimeException e) {
            details.put("server_timings", "unreadable: " + e);
        }
    }

    private static double[] last(List<Double> v, int n) {
        return v.subList(Math.max(0, v.size() - n), v.size()).stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static double[] split(String s) {
        String[] p = s.split(",");
        double[] d = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            d[i] = Double.parseDouble(p[i].trim());
        }
        return d;
    }

    // ------------------------------------------------------------------ report

    private static Row skipped(String id, String label, String why) {
        return new Row(id, label, "skipped", why, null, null, Map.of());
    }

    private static Map<String, Object> ppTg(double pp, double tg) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pp", pp);
        m.put("tg", tg);
        return m;
    }

    private static double ratio(Series a, Series b) {
        return a.mean() / b.mean();
    }

    /** Targets are judged against llama-bench (native build); ratios to the prebuilt-libs llama-bench are informational. */
    private static Map<String, Object> targets(List<Row> rows, Row ref, Row pre) {
        Map<String, Object> t = new LinkedHashMap<>();
        boolean all = true;
        for (Row r : rows) {
            double min = switch (r.id()) {
                case "engine-no-plan" -> TARGET_NO_PLAN;
                case "engine-all-layer-edits" -> TARGET_EDITS;
                default -> Double.NaN;
            };
            if (Double.isNaN(min)) {
                continue;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("min_ratio", min);
            if (r.ok() && ref.ok()) {
                double pp = ratio(r.pp(), ref.pp()), tg = ratio(r.tg(), ref.tg());
                m.put("pp_ratio", pp);
                m.put("tg_ratio", tg);
                m.put("pp_met", pp >= min);
                m.put("tg_met", tg >= min);
                all &= pp >= min && tg >= min;
            } else {
                m.put("evaluated", false);
                all = false;
            }
            if (r.ok() && pre.ok()) {
                m.put("pp_ratio_vs_prebuilt_libs", ratio(r.pp(), pre.pp()));
                m.put("tg_ratio_vs_prebuilt_libs", ratio(r.tg(), pre.tg()));
            }
            t.put(r.id(), m);
        }
        t.put("all_met", all);
        return t;
    }

    private static String table(Config c, List<Row> rows, Row ref, Row pre, Map<String, Object> model, Map<String, Object> targets) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "Model %s (%s, %.0f MiB), %d threads, pp%d / tg%d, %d repetitions, %s (%d CPUs)%n%n",
                model.getOrDefault("description", c.model().getFileName()), c.model().getFileName(),
                ((Number) model.getOrDefault("size_bytes", 0L)).doubleValue() / 1048576.0, c.threads(), c.prompt(), c.gen(), c.reps(),
                cpuModel(), Runtime.getRuntime().availableProcessors()));
        String fmt = "| %-42s | %16s | %6s | %6s | %16s | %6s | %6s |%n";
        b.append(String.format(Locale.ROOT, fmt, "", "pp" + c.prompt() + " t/s", "× lb", "× lb-p", "tg" + c.gen() + " t/s", "× lb", "× lb-p"));
        b.append("|").append("-".repeat(44)).append("|").append("-".repeat(17)).append(":|").append("-".repeat(7)).append(":|")
                .append("-".repeat(7)).append(":|").append("-".repeat(17)).append(":|").append("-".repeat(7)).append(":|")
                .append("-".repeat(7)).append(":|\n");
        for (Row r : rows) {
            if (r.ok()) {
                b.append(String.format(Locale.ROOT, fmt, r.label(), pm(r.pp()), rat(r.pp(), ref, true), rat(r.pp(), pre, true),
                        pm(r.tg()), rat(r.tg(), ref, false), rat(r.tg(), pre, false)));
            } else {
                String why = r.error() == null ? "" : r.error();
                if (why.length() > 120) {
                    why = why.substring(0, 117) + "...";
                }
                b.append(String.format(Locale.ROOT, "| %-42s | %s: %s | | | | | |%n", r.label(), r.status(), why.replace('|', '/')));
            }
        }
        b.append("\nlb = llama-bench (native build), lb-p = llama-bench on the engine's prebuilt libraries; mean ± sample stddev\n");
        for (var e : targets.entrySet()) {
            if (!(e.getValue() instanceof Map<?, ?> m)) {
                continue;
            }
            double min = ((Number) m.get("min_ratio")).doubleValue();
            if (!m.containsKey("pp_ratio")) {
                b.append(String.format(Locale.ROOT, "Target %s >= %.2f x llama-bench: not evaluated%n", e.getKey(), min));
                continue;
            }
            b.append(String.format(Locale.ROOT, "Target %s >= %.2f x llama-bench: pp %s, tg %s%n", e.getKey(), min,
                    verdict((Double) m.get("pp_ratio"), min), verdict((Double) m.get("tg_ratio"), min)));
        }
        return b.toString();
    }

    private static String rat(Series s, Row ref, boolean pp) {
        if (!ref.ok()) {
            return "n/a";
        }
        return String.format(Locale.ROOT, "%.3f", ratio(s, pp ? ref.pp() : ref.tg()));
    }

    private static String verdict(double ratio, double min) {
        return ratio >= min ? String.format(Locale.ROOT, "met (%.3f)", ratio)
                : String.format(Locale.ROOT, "MISSED (%.3f, %.1f%% short)", ratio, (min - ratio) * 100);
    }

    private static String pm(Series s) {
        return String.format(Locale.ROOT, "%.2f ± %.2f", s.mean(), s.stddev());
    }

    private static Map<String, Object> machine(String loadBefore, String loadAfter) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", cpuModel());
        m.put("nproc", Runtime.getRuntime().availableProcessors());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        m.put("loadavg_before", loadBefore);
        m.put("loadavg_after", loadAfter);
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

    private static String loadAvg() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
