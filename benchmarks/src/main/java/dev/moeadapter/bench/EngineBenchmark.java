package dev.moeadapter.bench;

import dev.moeadapter.bench.Results.EngineResult;
import dev.moeadapter.bench.Results.ModelSummary;
import dev.moeadapter.bench.Results.Row;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.nativeaccess.NativeLibraries;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * Engine throughput benchmark, one step per process (orchestrated by {@code benchmarks/run.sh}):
 * <pre>
 * EngineBenchmark engine --natives native|prebuilt [--rows engine|sigmoid-bias] [--edits-first] COMMON --out engine.json
 *                                                   this engine: no plan and an AddDelta on every MoE layer
 *                                                   (on the native libraries the JVM loads:
 *                                                   -Dmoe.adapter.native.dir or the packaged ones); --rows
 *                                                   sigmoid-bias names the rows of the sigmoid-with-bias model
 * EngineBenchmark jllama COMMON --out jllama.json   java-llama.cpp (de.kherud:llama), see {@link JavaLlamaBench}
 * EngineBenchmark report COMMON --out latest.json   the table: see {@link Report} for its inputs
 * COMMON: --model M.gguf [--threads 2] [--prompt 512] [--gen 128] [--reps 4] [--edit-scale 0.01] [--seed 42]
 *         [--gpu-layers 0] (engine rows only; -1 offloads every layer)
 * </pre>
 * Definitions follow llama-bench: pp = one batch of N prompt tokens (random ids, BOS first) decoded
 * from an empty KV cache; tg = G single-token decodes from an empty cache; each after a warm-up
 * (llama-bench: one prompt run and one decode; the engine also warms up the JIT, see engineRun);
 * tokens/s = mean over repetitions of tokens / seconds, with the sample standard deviation.
 */
public final class EngineBenchmark {

    /** What every step measures with. */
    record Settings(Path model, int threads, int prompt, int gen, int reps, float editScale, long seed, int gpuLayers) {}

    /** {@code --key value} options (a key may repeat) and {@code --flag} switches. */
    record Options(Map<String, List<String>> values, Set<String> flags) {
        static final Set<String> FLAGS = Set.of("--strict", "--edits-first");

        static Options parse(String[] a, int from) {
            Map<String, List<String>> v = new HashMap<>();
            Set<String> f = new HashSet<>();
            for (int i = from; i < a.length; i++) {
                if (FLAGS.contains(a[i])) {
                    f.add(a[i]);
                } else if (a[i].startsWith("--") && i + 1 < a.length) {
                    v.computeIfAbsent(a[i], k -> new ArrayList<>()).add(a[++i]);
                } else {
                    throw new IllegalArgumentException("bad argument " + a[i]);
                }
            }
            return new Options(v, f);
        }

        String get(String key, String def) {
            List<String> l = values.get(key);
            return l == null ? def : l.getLast();
        }

        /** Every value given for {@code key}, as absolute paths. */
        List<Path> paths(String key) {
            return values.getOrDefault(key, List.of()).stream().map(s -> Path.of(s).toAbsolutePath()).toList();
        }

        Path requirePath(String key) {
            String s = get(key, null);
            if (s == null) {
                throw new IllegalArgumentException(key + " is required");
            }
            return Path.of(s).toAbsolutePath();
        }

        int positive(String key, int def) {
            int n = Integer.parseInt(get(key, Integer.toString(def)));
            if (n < 1) {
                throw new IllegalArgumentException(key + " must be positive");
            }
            return n;
        }

        Settings settings() {
            float scale = Float.parseFloat(get("--edit-scale", "0.01"));
            if (!(scale > 0) || Float.isInfinite(scale)) {
                throw new IllegalArgumentException("--edit-scale must be a positive number");
            }
            int gpuLayers = Integer.parseInt(get("--gpu-layers", "0"));
            if (gpuLayers < -1) {
                throw new IllegalArgumentException("--gpu-layers must be -1 (all), 0 or positive");
            }
            return new Settings(requirePath("--model"), positive("--threads", 2), positive("--prompt", 512),
                    positive("--gen", 128), positive("--reps", 4), scale, Long.parseLong(get("--seed", "42")), gpuLayers);
        }
    }

    private EngineBenchmark() {}

    public static void main(String[] args) throws IOException {
        if (System.getProperty("logback.configurationFile") == null) {
            // the adapter-core test-jar (for RandomModels) brings a logback-test.xml; use ours
            System.setProperty("logback.configurationFile", "bench-logback.xml");
        }
        String mode = args.length == 0 ? "" : args[0];
        Options o;
        Settings s;
        Path out;
        try {
            o = Options.parse(args, 1);
            s = o.settings();
            out = o.requirePath("--out");
        } catch (RuntimeException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println("usage: EngineBenchmark engine|jllama|report --model M.gguf --out F.json [options]; see the class comment");
            System.exit(2);
            return;
        }
        // System.exit: java-llama.cpp leaves non-daemon threads behind
        switch (mode) {
            case "engine" -> Results.write(out, engine(s, o.get("--natives", "native"), o.get("--rows", "engine"),
                    o.flags().contains("--edits-first")));
            case "jllama" -> Results.write(out, JavaLlamaBench.run(s));
            case "report" -> System.exit(new Report(s, o).run(out));
            default -> {
                System.err.println("error: unknown step '" + mode + "' (engine, jllama or report)");
                System.exit(2);
            }
        }
        System.exit(0);
    }

    // ------------------------------------------------------------------ engine rows

    /**
     * Both engine rows on the native library set this JVM loads ({@code natives} names it in ids and
     * labels): no plan, then the edits, or the other way round. Row ids start with {@code rows}
     * ({@code engine}, or {@code sigmoid-bias} for the sigmoid-with-bias model, whose labels name it).
     */
    static EngineResult engine(Settings c, String natives, String rows, boolean editsFirst) throws IOException {
        if (!rows.equals("engine") && !rows.equals("sigmoid-bias")) {
            throw new IllegalArgumentException("--rows is engine or sigmoid-bias, not " + rows);
        }
        String where = Report.where(natives);
        try (Model model = Model.load(ModelParams.of(c.model()).withGpuLayers(c.gpuLayers()))) {
            ModelInfo info = model.info();
            if (!info.isMoe()) {
                throw new IllegalStateException("the model has no MoE layers; the all-layer edit row needs a MoE model");
            }
            if (rows.equals("sigmoid-bias") && !info.selectionBias()) {
                throw new IllegalStateException("--rows sigmoid-bias needs a model that selects by score + bias; " + info.architecture() + " does not");
            }
            if (!rows.equals("engine")) {
                where += ", " + info.architecture() + " " + info.gating().name().toLowerCase(Locale.ROOT) + " + bias";
            }
            ModelSummary summary = new ModelSummary(c.model().toString(), Files.size(c.model()), info.description(),
                    info.architecture(), info.layers(), info.moeLayers().size(), info.experts(), info.expertsUsed(),
                    info.embeddingSize(), info.vocabSize());

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
            String noPlanLabel = "engine on " + where + ", no plan";
            String editLabel = "engine on " + where + ", AddDelta on all " + edits.size() + " MoE layers";
            // the first row of a fresh process measures a few percent slower (run.sh alternates the order)
            EngineRun plain = null, edited = null;
            for (boolean edit : editsFirst ? List.of(true, false) : List.of(false, true)) {
                System.err.printf(Locale.ROOT, "[bench] %s: pp%d x%d, tg%d x%d%n", edit ? editLabel : noPlanLabel, c.prompt(), c.reps(),
                        c.gen(), c.reps());
                if (edit) {
                    edited = engineRun(model, c, new RoutingPlan(edits));
                } else {
                    plain = engineRun(model, c, RoutingPlan.EMPTY);
                }
            }

            double maxDiff = 0;
            for (int i = 0; i < plain.probeLogits.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(plain.probeLogits[i] - edited.probeLogits[i]));
            }
            Map<String, Object> common = new LinkedHashMap<>();
            common.put("native_dir", NativeLibraries.locate().toString());
            common.put("llama_cpp_libraries", loadedLlamaLibraries());
            common.put("session", "context " + (c.prompt() + c.gen()) + ", batch = ubatch = " + c.prompt()
                    + ", 1 sequence, threads = batch threads = " + c.threads() + ", gpu layers " + c.gpuLayers());
            Map<String, Object> d1 = new LinkedHashMap<>(common);
            d1.put("plan", "none");
            Map<String, Object> d2 = new LinkedHashMap<>(common);
            d2.put("plan", edits.size() + " x AddDelta (one per MoE layer, positions [0, inf), delta ~ N(0, "
                    + c.editScale() + "^2) per expert)");
            d2.put("probe_max_abs_logit_change", maxDiff);
            if (maxDiff == 0) {
                throw new IllegalStateException("the edits did not change the logits of a probe prompt");
            }
            return new EngineResult(summary, List.of(
                    Row.measured(rows + "-" + natives + "-no-plan", noPlanLabel, plain.pp, plain.tg, d1),
                    Row.measured(rows + "-" + natives + "-all-layer-edits", editLabel, edited.pp, edited.tg, d2)));
        }
    }

    private record EngineRun(Series pp, Series tg, float[] probeLogits) {}

    private static EngineRun engineRun(Model model, Settings c, RoutingPlan plan) {
        ModelInfo info = model.info();
        int n = c.prompt(), g = c.gen();
        SessionParams sp = new SessionParams(n + g, n, 1, c.threads(), c.threads());
        Random rnd = new Random(c.seed());
        try (Session s = model.newSession(sp)) {
            if (!plan.isEmpty()) {
                s.setPlan(0, plan);
            }
            // warm-up: llama-bench runs one prompt and one generation step; a fresh JVM also needs its
            // decode path compiled, or the JIT competes with ggml's threads for the cores during the
            // first measured repetitions. So: one prompt run, then one untimed generation of G tokens.
            s.clear();
            s.decode(Batch.of(0, 0, promptTokens(info, n, rnd)));
            s.clear();
            for (int i = 0; i < g; i++) {
                s.decode(Batch.of(0, i, rnd.nextInt(info.vocabSize())));
            }

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

    /** The llama.cpp / ggml libraries mapped into this process, with their paths (which CPU backend ggml loaded). */
    private static List<String> loadedLlamaLibraries() throws IOException {
        TreeSet<String> libs = new TreeSet<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            int i = line.indexOf('/');
            if (i >= 0 && (line.contains("/libggml") || line.contains("/libllama"))) {
                libs.add(line.substring(i));
            }
        }
        return List.copyOf(libs);
    }
}
