package dev.moeadapter.samples.lab;

import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.samples.cli.Cli;
import dev.moeadapter.samples.eval.BenchmarkFile;
import dev.moeadapter.samples.eval.BenchmarkItem;
import dev.moeadapter.samples.eval.EvalRunner;
import dev.moeadapter.samples.eval.Scorer;
import dev.moeadapter.samples.eval.stats.Holm;
import dev.moeadapter.samples.eval.stats.PairedComparison;
import dev.moeadapter.samples.eval.stats.PooledComparison;
import dev.moeadapter.samples.experts.ExpertProfile;
import dev.moeadapter.samples.experts.ExpertProfiler;
import dev.moeadapter.steering.SteerStrategy;
import dev.moeadapter.steering.SteeringFile;
import dev.moeadapter.steering.SteeringSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.IntStream;

/**
 * Do the experts the profiler names for a task matter, and does steering toward them help? For
 * every lab v2 model:
 * <ol>
 *   <li><b>named experts</b>: each task T's prompts of the in-distribution {@code ref} split profiled
 *       against the other tasks' ({@link ExpertProfiler}); T's named experts are the profiler's
 *       promote entries ({@link ExpertProfile#steering}: per layer up to top-k experts with a risk
 *       difference of at least {@link #MIN_DIFFERENCE});</li>
 *   <li><b>causal check</b> on the in-distribution {@code dev} split: every item answered with T's
 *       named experts masked (MoTE: an expert mask at every position, through {@link SteerStrategy}),
 *       paired against the base on the same items, on T's items and on the other tasks'; and a control
 *       that masks as many experts per layer chosen at random (fixed seed {@link #SEED}) from all of
 *       the layer's experts, and a second one that draws them from the experts not named for T;</li>
 *   <li><b>oracle steering</b> on {@code untagged-dev} (the task tag removed) and on the tagged
 *       {@code dev} split: each item promoted toward its true task's named experts by SteerMoE's rule
 *       (the task label chooses the steering file), for the pre-registered arms {@link #ARMS};
 *       Holm over arms × splits.</li>
 * </ol>
 * No test split is read: the frozen acceptance checks ({@code samples/lab/v2/acceptance.json}) name
 * no steering method, so the run ledger would refuse it, and every shifted test split is "cannot test".
 *
 * <p>{@code ./moe lab experts --arch olmoe=S1.gguf,S2.gguf [--arch mixtral=…] [--tasks samples/lab/v2/tasks]
 * [--out target/lab-experts] [--doc docs/experts.md | none] [--limit N] [--threads 1] [--reuse true]}: writes
 * each task's named experts as steering files and every measured answer ({@code run.json}) under
 * {@code OUT/MODEL/}, and the section "Causal check on lab v2" of the doc; {@code --reuse true} renders
 * from the saved answers of a model instead of measuring it again.
 */
public final class LabExperts {
    private static final Logger LOG = LoggerFactory.getLogger(LabExperts.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    static final int MAX_TOKENS = 16;
    static final double MIN_DIFFERENCE = 0.05;
    static final long SEED = 20260601L;
    static final String SECTION = "## Causal check on lab v2";

    /** A pre-registered oracle steering arm: promote the true task's {@code perLayer} strongest named experts (0 = all, up to top-k) with SteerMoE's ε. */
    record Arm(String name, int perLayer, float epsilon) {}

    static final List<Arm> ARMS = List.of(new Arm("top-1, ε 0.01", 1, 0.01f), new Arm("top-1, ε 1", 1, 1f),
            new Arm("top-k, ε 0.01", 0, 0.01f), new Arm("top-k, ε 1", 0, 1f));
    static final List<String> STEER_SPLITS = List.of("untagged-dev", "dev");

    /**
     * One task's causal check on one model: the answers of every dev item with the task's named experts
     * masked, with as many random experts masked, and with as many random experts not named for the task masked.
     */
    record TaskCheck(String task, int[] namedPerLayer, boolean[] named, boolean[] random, boolean[] unnamed) {
        boolean[] arm(Mask m) {
            return switch (m) {
                case NAMED -> named;
                case RANDOM -> random;
                case UNNAMED -> unnamed;
            };
        }
    }

    /** Which experts a causal-check arm masks. */
    enum Mask { NAMED, RANDOM, UNNAMED }

    /** Everything measured on one model. */
    record ModelRun(String model, int moeLayers, int experts, int topK, List<String> dev, boolean[] base, List<TaskCheck> tasks,
                    Map<String, boolean[]> steerBase, Map<String, Map<String, boolean[]>> steered, double seconds) {}

    private final Model model;
    private final Session session;
    private final ModelInfo info;

    LabExperts(Model model, Session session) {
        this.model = model;
        this.session = session;
        this.info = model.info();
    }

    public static void main(String[] args) throws Exception {
        Cli.run("lab experts", null, () -> {
            Map<String, List<String>> arches = new LinkedHashMap<>();
            Map<String, String> a = new TreeMap<>();
            for (int i = 0; i + 1 < args.length; i += 2) {
                if (!args[i].startsWith("--")) throw new IllegalArgumentException("arguments are --name value pairs; bad: " + args[i]);
                if (args[i].equals("--arch")) {
                    String[] kv = args[i + 1].split("=", 2);
                    arches.put(kv[0], List.of(kv[1].split(",")));
                } else {
                    a.put(args[i].substring(2), args[i + 1]);
                }
            }
            if (arches.isEmpty() || args.length % 2 != 0) {
                System.err.println("usage: ./moe lab experts --arch NAME=S1.gguf[,S2.gguf…] [--arch …] [--tasks DIR] [--out DIR] [--doc docs/experts.md|none] [--limit N] [--threads N] [--reuse true]");
                System.exit(2);
            }
            Path tasks = Path.of(a.getOrDefault("tasks", "samples/lab/v2/tasks"));
            Path out = Path.of(a.getOrDefault("out", "target/lab-experts"));
            int threads = Integer.parseInt(a.getOrDefault("threads", "1"));
            int limit = Integer.parseInt(a.getOrDefault("limit", "0"));
            boolean reuse = Boolean.parseBoolean(a.getOrDefault("reuse", "false"));
            Map<String, List<ModelRun>> runs = new LinkedHashMap<>();
            for (var arch : arches.entrySet()) {
                List<ModelRun> seeds = new ArrayList<>();
                for (String m : arch.getValue()) {
                    Path saved = out.resolve(Path.of(m).getFileName().toString().replace(".gguf", "")).resolve("run.json");
                    seeds.add(reuse && Files.exists(saved) ? JSON.readValue(saved.toFile(), ModelRun.class) : runModel(Path.of(m), tasks, out, threads, limit));
                }
                runs.put(arch.getKey(), seeds);
            }
            // the command that measures: --reuse only re-renders its saved answers, --doc only says where the page goes
            List<String> shown = new ArrayList<>();
            for (int i = 0; i + 1 < args.length; i += 2) {
                if (!args[i].equals("--reuse") && !args[i].equals("--doc")) shown.addAll(List.of(args[i], args[i + 1]));
            }
            String md = markdown("./moe lab experts " + String.join(" ", shown), runs);
            Files.createDirectories(out);
            Files.writeString(out.resolve("causal-check.md"), md, StandardCharsets.UTF_8);
            System.out.print(md);
            String doc = a.getOrDefault("doc", "docs/experts.md");
            if (!doc.equals("none")) {
                Path d = Path.of(doc);
                Files.writeString(d, replaceSection(Files.readString(d, StandardCharsets.UTF_8), md), StandardCharsets.UTF_8);
                System.out.println("wrote " + d + " (section \"" + SECTION.substring(3) + "\") and " + out.resolve("causal-check.md"));
            }
        });
    }

    static ModelRun runModel(Path modelPath, Path tasks, Path out, int threads, int limit) throws IOException {
        long t0 = System.nanoTime();
        String name = modelPath.getFileName().toString().replace(".gguf", "");
        try (Model model = Model.load(ModelParams.of(modelPath));
             Session session = model.newSession(new SessionParams(256, 256, 1, threads, threads))) {
            LabExperts lab = new LabExperts(model, session);
            List<BenchmarkItem> ref = BenchmarkFile.read(tasks.resolve("ref.jsonl"));
            Map<String, ExpertProfile> profiles = lab.profiles(ref);
            Path dir = out.resolve(name);
            Files.createDirectories(dir);
            for (var p : profiles.entrySet()) {
                SteeringFile.write(dir.resolve("named-" + p.getKey() + ".tsv"), String.format(Locale.ROOT,
                        "toward task %s, away from the other tasks; in-distribution ref split; model %s; per layer up to %d experts with risk difference >= %.2f",
                        p.getKey(), modelPath.getFileName(), model.info().expertsUsed(), MIN_DIFFERENCE), lab.named(p.getValue(), 0));
            }
            List<BenchmarkItem> dev = read(tasks, "dev", limit);
            LOG.info("{}: base on dev ({} items)", name, dev.size());
            boolean[] base = lab.correct(dev, lab.answers(dev, it -> RoutingPlan.EMPTY));
            Random random = new Random(SEED);
            List<TaskCheck> checks = new ArrayList<>();
            for (var p : profiles.entrySet()) {
                List<SteeringFile.Entry> named = lab.named(p.getValue(), 0);
                RoutingPlan namedMask = lab.mask(named), randomMask = lab.mask(lab.randomLike(named, random, false)),
                        unnamedMask = lab.mask(lab.randomLike(named, random, true));
                LOG.info("{}: task {}: masking its {} named experts, then as many random ones, then as many random unnamed ones", name, p.getKey(), named.size());
                checks.add(new TaskCheck(p.getKey(), lab.perLayer(named), lab.correct(dev, lab.answers(dev, it -> namedMask)),
                        lab.correct(dev, lab.answers(dev, it -> randomMask)), lab.correct(dev, lab.answers(dev, it -> unnamedMask))));
            }
            Map<String, boolean[]> steerBase = new LinkedHashMap<>();
            Map<String, Map<String, boolean[]>> steered = new LinkedHashMap<>();
            for (String split : STEER_SPLITS) {
                List<BenchmarkItem> items = read(tasks, split, limit);
                steerBase.put(split, split.equals("dev") ? base : lab.correct(items, lab.answers(items, it -> RoutingPlan.EMPTY)));
                for (Arm arm : ARMS) {
                    Map<String, RoutingPlan> byTask = new TreeMap<>();
                    profiles.forEach((t, p) -> byTask.put(t, lab.promote(lab.named(p, arm.perLayer()), arm.epsilon())));
                    LOG.info("{}: oracle steering {} on {}", name, arm.name(), split);
                    steered.computeIfAbsent(arm.name(), k -> new LinkedHashMap<>())
                            .put(split, lab.correct(items, lab.answers(items, it -> byTask.get(it.task()))));
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            LOG.info("{}: done in {} s", name, String.format(Locale.ROOT, "%.0f", seconds));
            ModelInfo info = model.info();
            ModelRun run = new ModelRun(name, info.moeLayers().size(), info.experts(), info.expertsUsed(), dev.stream().map(BenchmarkItem::task).toList(), base, checks, steerBase, steered, seconds);
            JSON.writeValue(dir.resolve("run.json").toFile(), run);
            return run;
        }
    }

    private static List<BenchmarkItem> read(Path tasks, String split, int limit) {
        List<BenchmarkItem> items = BenchmarkFile.read(tasks.resolve(split + ".jsonl"));
        return limit > 0 ? items.subList(0, Math.min(limit, items.size())) : items;
    }

    /** Per task (sorted), the task's prompts profiled against every other task's prompts. */
    Map<String, ExpertProfile> profiles(List<BenchmarkItem> ref) {
        Map<String, List<String>> prompts = new TreeMap<>();
        ref.forEach(it -> prompts.computeIfAbsent(it.task(), t -> new ArrayList<>()).add(it.prompt()));
        ExpertProfiler profiler = new ExpertProfiler(model, session);
        Map<String, ExpertProfile> alone = new TreeMap<>();
        prompts.forEach((t, p) -> alone.put(t, profiler.profile(p, List.of())));
        Map<String, ExpertProfile> out = new TreeMap<>();
        for (var e : alone.entrySet()) {
            ExpertProfile own = e.getValue();
            int layers = own.layers().size();
            long[][] counts = new long[layers][own.experts()];
            long[] tokens = new long[layers];
            alone.forEach((t, p) -> {
                if (t.equals(e.getKey())) return;
                for (int l = 0; l < layers; l++) {
                    tokens[l] += p.tokensA()[l];
                    for (int x = 0; x < own.experts(); x++) counts[l][x] += p.countsA()[l][x];
                }
            });
            out.put(e.getKey(), new ExpertProfile(own.layers(), own.experts(), own.topK(), own.countsA(), own.tokensA(), counts, tokens));
        }
        return out;
    }

    /** The profiler's promote entries: per layer the {@code perLayer} (0 = top-k) strongest experts linked to the task. */
    List<SteeringFile.Entry> named(ExpertProfile p, int perLayer) {
        return p.steering(perLayer == 0 ? info.expertsUsed() : perLayer, MIN_DIFFERENCE).stream()
                .filter(e -> e.action() == SteeringFile.Action.PROMOTE).toList();
    }

    /**
     * As many experts per layer as {@code named} has, drawn uniformly from all of the layer's experts
     * (or, with {@code excludeNamed}, from those not in {@code named}), as promote entries of strength 1.
     */
    List<SteeringFile.Entry> randomLike(List<SteeringFile.Entry> named, Random random, boolean excludeNamed) {
        List<SteeringFile.Entry> out = new ArrayList<>();
        for (int layer : info.moeLayers()) {
            List<Integer> own = named.stream().filter(e -> e.layer() == layer).map(SteeringFile.Entry::expert).toList();
            long n = own.size();
            List<Integer> all = new ArrayList<>(IntStream.range(0, info.experts()).boxed().filter(x -> !excludeNamed || !own.contains(x)).toList());
            java.util.Collections.shuffle(all, random);
            all.subList(0, (int) n).stream().sorted().forEach(x -> out.add(new SteeringFile.Entry(layer, x, SteeringFile.Action.PROMOTE, 1)));
        }
        return out;
    }

    int[] perLayer(List<SteeringFile.Entry> entries) {
        return info.moeLayers().stream().mapToInt(l -> (int) entries.stream().filter(e -> e.layer() == l).count()).toArray();
    }

    /** MoTE: the entries' experts switched off at every position. */
    RoutingPlan mask(List<SteeringFile.Entry> experts) {
        List<SteeringFile.Entry> m = experts.stream().map(e -> new SteeringFile.Entry(e.layer(), e.expert(), SteeringFile.Action.MASK, 1)).toList();
        return plan(m, SteeringSettings.DEFAULTS.epsilon());
    }

    /** SteerMoE's rule: the entries' experts promoted, ε times their strength (the profiler's risk difference). */
    RoutingPlan promote(List<SteeringFile.Entry> experts, float epsilon) {
        return plan(experts, epsilon);
    }

    RoutingPlan plan(List<SteeringFile.Entry> entries, float epsilon) {
        SteeringSettings d = SteeringSettings.DEFAULTS;
        return new SteerStrategy(new SteeringSettings(entries, epsilon, d.boost(), d.topP()), null).plan(info);
    }

    /** Greedy answers of every item under the plan {@code plans} gives it. */
    String[] answers(List<BenchmarkItem> items, Function<BenchmarkItem, RoutingPlan> plans) {
        String[] out = new String[items.size()];
        try {
            for (int i = 0; i < items.size(); i++) {
                BenchmarkItem it = items.get(i);
                session.setPlan(0, plans.apply(it));
                var request = new GenerationRequest(model.tokenize(it.prompt()), MAX_TOKENS, SamplingParams.GREEDY,
                        EvalRunner.stopStrings(it.scoring()), false);
                out[i] = new Generator(session, 0).generate(request, TokenListener.NONE, new CancellationToken()).text();
            }
        } finally {
            session.setPlan(0, RoutingPlan.EMPTY);
        }
        return out;
    }

    static boolean[] correct(List<BenchmarkItem> items, String[] answers) {
        boolean[] right = new boolean[items.size()];
        for (int i = 0; i < right.length; i++) right[i] = Scorer.correct(items.get(i).scoring(), answers[i]);
        return right;
    }

    // ---------------------------------------------------------------- report

    static boolean[] pick(boolean[] a, List<String> tasks, String task, boolean own) {
        int n = 0;
        for (String t : tasks) n += t.equals(task) == own ? 1 : 0;
        boolean[] out = new boolean[n];
        for (int i = 0, j = 0; i < a.length; i++) if (tasks.get(i).equals(task) == own) out[j++] = a[i];
        return out;
    }

    /** Every dev item answered under its own task's mask of kind {@code m}. */
    static boolean[] ownMasked(ModelRun r, Mask m) {
        boolean[] out = new boolean[r.base().length];
        for (TaskCheck c : r.tasks()) {
            boolean[] a = c.arm(m);
            for (int i = 0; i < out.length; i++) if (r.dev().get(i).equals(c.task())) out[i] = a[i];
        }
        return out;
    }

    private static double acc(boolean[] a) {
        int n = 0;
        for (boolean x : a) n += x ? 1 : 0;
        return a.length == 0 ? Double.NaN : 100.0 * n / a.length;
    }

    private static String pts(double d) {
        return String.format(Locale.ROOT, "%+.1f", 100 * d);
    }

    private static String paired(PairedComparison c) {
        return String.format(Locale.ROOT, "%s [%s, %s]", pts(c.difference()), pts(c.low()), pts(c.high()));
    }

    private static String p(double p) {
        return p < 0.0001 ? "<0.0001" : String.format(Locale.ROOT, "%.2g", p);
    }

    static String markdown(String command, Map<String, List<ModelRun>> runs) {
        StringBuilder s = new StringBuilder(SECTION).append("\n\n");
        s.append("Generated by `LabExperts` (`./moe lab experts`); do not edit by hand. The command:\n\n```bash\n").append(command).append("\n```\n\n");
        s.append("""
                For each task T of lab v2, the expert profiler contrasts T's prompts of the in-distribution `ref`
                split with the other seven tasks' (never a dev or test item); T's **named experts** are its promote
                entries: per MoE layer up to top-k experts whose risk difference is at least %.2f (the steering
                files are written beside the run's output). **Causal check** on the in-distribution `dev` split
                (400 items, 50 per task; greedy, exact match): every item answered with T's named experts masked at
                every position (MoTE's expert mask, through the steer strategy), paired with the base on the same
                items: on T's 50 items ("own") and on the other 350 ("others"). **Controls**: as many experts per
                layer drawn uniformly at random (fixed seed %d) and masked the same way, once from all of the
                layer's experts ("random") and once from the experts not named for T ("unnamed"). Per model the exact
                McNemar p and Newcombe's paired 95%% interval; pooled over the two training seeds the exact
                item-level sign-flip test and its interval. "All tasks, own" answers every dev item under its own
                task's mask (400 pairs); "others" there is the mean over the eight masks (each item counted in seven).

                **Oracle steering**: each item steered toward its true task's named experts by SteerMoE's rule
                (promoted score = the token's best + ε × strength, strength = the risk difference), the steering
                file chosen with the item's task label: an upper bound for choosing the file from the prompt. Four
                arms, fixed before the run: the strongest 1 or all (up to top-k) named experts per layer, ε 0.01 or
                1. Splits: `untagged-dev` (no task tag: the task is ambiguous from the prompt) and the tagged `dev`
                (in-distribution harm). Holm's correction over the 4 arms × 2 splits of each table. The arm chosen
                for untagged is the one with the largest pooled gain on `untagged-dev` (settings chosen on dev
                only); with no test split allowed (below), its figure is an optimistic estimate.

                **No test split was run.** The run ledger admits a run on a v2 test split only for a method the
                frozen acceptance entry (`samples/lab/v2/acceptance.json`) says the split can test: SCMoE on the
                in-distribution `test` split and nothing else; it would refuse a steer arm there, and `untagged-test`
                is "cannot test" for every method (base 8–10%%, fixed per-task delta ceiling 12–16%%, far from base +
                20 points). The untagged figures below are therefore dev-split diagnostics, not method claims.

                """.formatted(MIN_DIFFERENCE, SEED));
        for (var arch : runs.entrySet()) {
            List<ModelRun> seeds = arch.getValue();
            ModelRun first = seeds.getFirst();
            s.append("### ").append(arch.getKey()).append(String.format(Locale.ROOT, " (%d training seed%s; %d MoE layers of %d experts, top-%d)%n%n",
                    seeds.size(), seeds.size() == 1 ? "" : "s", first.moeLayers(), first.experts(), first.topK()));
            s.append(summary(arch.getKey(), seeds));
            s.append("#### Causal check per task, pooled over seeds\n\n");
            s.append("| task | named experts per layer (seed 1; seed 2) | base own | own, named masked | p | others, named masked | p | own, random masked | p | others, random masked | own, unnamed masked | p | others, unnamed masked |\n");
            s.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
            List<String> tasks = seeds.getFirst().tasks().stream().map(TaskCheck::task).toList();
            for (int t = 0; t < tasks.size(); t++) {
                String task = tasks.get(t);
                int ti = t;
                List<boolean[]> bOwn = new ArrayList<>(), nOwn = new ArrayList<>(), rOwn = new ArrayList<>(), bOth = new ArrayList<>(),
                        nOth = new ArrayList<>(), rOth = new ArrayList<>(), uOwn = new ArrayList<>(), uOth = new ArrayList<>();
                for (ModelRun r : seeds) {
                    TaskCheck c = r.tasks().get(ti);
                    bOwn.add(pick(r.base(), r.dev(), task, true));
                    nOwn.add(pick(c.named(), r.dev(), task, true));
                    rOwn.add(pick(c.random(), r.dev(), task, true));
                    bOth.add(pick(r.base(), r.dev(), task, false));
                    nOth.add(pick(c.named(), r.dev(), task, false));
                    rOth.add(pick(c.random(), r.dev(), task, false));
                    uOwn.add(pick(c.unnamed(), r.dev(), task, true));
                    uOth.add(pick(c.unnamed(), r.dev(), task, false));
                }
                PooledComparison n = PooledComparison.of(bOwn, nOwn), no = PooledComparison.of(bOth, nOth), ra = PooledComparison.of(bOwn, rOwn),
                        ro = PooledComparison.of(bOth, rOth), uo = PooledComparison.of(bOwn, uOwn), ut = PooledComparison.of(bOth, uOth);
                double baseOwn = bOwn.stream().mapToDouble(LabExperts::acc).average().orElse(Double.NaN);
                s.append(String.format(Locale.ROOT, "| %s | %s | %.1f%% | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", task,
                        String.join("; ", seeds.stream().map(r -> Arrays.toString(r.tasks().get(ti).namedPerLayer())).toList()), baseOwn,
                        pooled(n), p(n.p()), pooled(no), p(no.p()), pooled(ra), p(ra.p()), pooled(ro), pooled(uo), p(uo.p()), pooled(ut)));
            }
            s.append("\n#### Causal check per model\n\n");
            s.append("| model | task | base own | own, named masked: change [95% CI] | McNemar p | base others | others, named masked | McNemar p | own, random masked | McNemar p | own, unnamed masked | McNemar p |\n");
            s.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
            for (ModelRun r : seeds) {
                for (TaskCheck c : r.tasks()) {
                    boolean[] bo = pick(r.base(), r.dev(), c.task(), true), bt = pick(r.base(), r.dev(), c.task(), false);
                    PairedComparison own = PairedComparison.of(bo, pick(c.named(), r.dev(), c.task(), true));
                    PairedComparison oth = PairedComparison.of(bt, pick(c.named(), r.dev(), c.task(), false));
                    PairedComparison rnd = PairedComparison.of(bo, pick(c.random(), r.dev(), c.task(), true));
                    PairedComparison unn = PairedComparison.of(bo, pick(c.unnamed(), r.dev(), c.task(), true));
                    s.append(String.format(Locale.ROOT, "| %s | %s | %.1f%% | %s | %s | %.1f%% | %s | %s | %s | %s | %s | %s |%n", r.model(), c.task(), acc(bo), paired(own),
                            p(own.mcnemarP()), acc(bt), paired(oth), p(oth.mcnemarP()), paired(rnd), p(rnd.mcnemarP()), paired(unn), p(unn.mcnemarP())));
                }
            }
            s.append("\n#### Oracle steering (true task's named experts promoted), per model and pooled\n\n");
            s.append("| model | arm | split | base | steered | change [95% CI] | wrong→right | right→wrong | p | Holm p |\n");
            s.append("|---|---|---|---|---|---|---|---|---|---|\n");
            for (ModelRun r : seeds) {
                List<String> rows = new ArrayList<>();
                List<Double> ps = new ArrayList<>();
                for (Arm arm : ARMS) {
                    for (String split : STEER_SPLITS) {
                        boolean[] b = r.steerBase().get(split), x = r.steered().get(arm.name()).get(split);
                        PairedComparison c = PairedComparison.of(b, x);
                        ps.add(c.mcnemarP());
                        rows.add(String.format(Locale.ROOT, "| %s | %s | %s | %.1f%% | %.1f%% | %s | %d | %d | %s (McNemar) |", r.model(), arm.name(), split,
                                acc(b), acc(x), paired(c), c.wrongToRight(), c.rightToWrong(), p(c.mcnemarP())));
                    }
                }
                double[] holm = Holm.adjust(ps.stream().mapToDouble(Double::doubleValue).toArray());
                for (int i = 0; i < rows.size(); i++) s.append(rows.get(i)).append(' ').append(p(holm[i])).append(" |\n");
            }
            List<String> rows = new ArrayList<>();
            List<Double> ps = new ArrayList<>();
            for (Arm arm : ARMS) {
                for (String split : STEER_SPLITS) {
                    PooledComparison c = steerPooled(seeds, arm, split);
                    int wr = c.perSeed().stream().mapToInt(PairedComparison::wrongToRight).sum(), rw = c.perSeed().stream().mapToInt(PairedComparison::rightToWrong).sum();
                    ps.add(c.p());
                    rows.add(String.format(Locale.ROOT, "| **%s, pooled** | %s | %s | %.1f%% | %.1f%% | %s | %d | %d | %s (sign-flip) |", arch.getKey(), arm.name(), split,
                            seeds.stream().mapToDouble(r -> acc(r.steerBase().get(split))).average().orElse(Double.NaN),
                            seeds.stream().mapToDouble(r -> acc(r.steered().get(arm.name()).get(split))).average().orElse(Double.NaN),
                            pooled(c), wr, rw, p(c.p())));
                }
            }
            double[] holm = Holm.adjust(ps.stream().mapToDouble(Double::doubleValue).toArray());
            for (int i = 0; i < rows.size(); i++) s.append(rows.get(i)).append(' ').append(p(holm[i])).append(" |\n");
            s.append(String.format(Locale.ROOT, "%nTime for the whole check: %s.%n%n",
                    String.join(", ", seeds.stream().map(r -> String.format(Locale.ROOT, "%s %.0f s", r.model(), r.seconds())).toList())));
        }
        return s.toString();
    }

    private static String pooled(PooledComparison c) {
        return String.format(Locale.ROOT, "%s [%s, %s]", pts(c.difference()), pts(c.low()), pts(c.high()));
    }

    static PooledComparison steerPooled(List<ModelRun> seeds, Arm arm, String split) {
        return PooledComparison.of(seeds.stream().map(r -> r.steerBase().get(split)).toList(),
                seeds.stream().map(r -> r.steered().get(arm.name()).get(split)).toList());
    }

    /** The architecture's headline: own drop, others drop, the random controls, and the chosen oracle steering arm on untagged-dev. */
    static String summary(String arch, List<ModelRun> seeds) {
        List<boolean[]> base = seeds.stream().map(ModelRun::base).toList();
        PooledComparison own = PooledComparison.of(base, seeds.stream().map(r -> ownMasked(r, Mask.NAMED)).toList());
        PooledComparison rnd = PooledComparison.of(base, seeds.stream().map(r -> ownMasked(r, Mask.RANDOM)).toList());
        PooledComparison unn = PooledComparison.of(base, seeds.stream().map(r -> ownMasked(r, Mask.UNNAMED)).toList());
        // named against the unnamed control, item by item: is masking the named experts worse than masking as many others?
        PooledComparison vsUnnamed = PooledComparison.of(seeds.stream().map(r -> ownMasked(r, Mask.UNNAMED)).toList(),
                seeds.stream().map(r -> ownMasked(r, Mask.NAMED)).toList());
        double[] others = othersDrop(seeds, Mask.NAMED), othersRandom = othersDrop(seeds, Mask.RANDOM), othersUnnamed = othersDrop(seeds, Mask.UNNAMED);
        Arm best = ARMS.getFirst();
        for (Arm a : ARMS) if (steerPooled(seeds, a, "untagged-dev").difference() > steerPooled(seeds, best, "untagged-dev").difference()) best = a;
        PooledComparison untagged = steerPooled(seeds, best, "untagged-dev"), tagged = steerPooled(seeds, best, "dev");
        int rw = tagged.perSeed().stream().mapToInt(PairedComparison::rightToWrong).sum(), wr = tagged.perSeed().stream().mapToInt(PairedComparison::wrongToRight).sum();
        int uwr = untagged.perSeed().stream().mapToInt(PairedComparison::wrongToRight).sum(), urw = untagged.perSeed().stream().mapToInt(PairedComparison::rightToWrong).sum();
        StringBuilder s = new StringBuilder();
        s.append("| pooled over seeds (dev) | change [95% CI] | p |\n|---|---|---|\n");
        s.append(String.format(Locale.ROOT, "| all tasks, own: named experts masked | %s | %s (sign-flip) |%n", pooled(own), p(own.p())));
        s.append(String.format(Locale.ROOT, "| all tasks, others: named experts masked (mean over the 8 masks; range over tasks) | %s (%s to %s) | |%n",
                pts(others[0]), pts(others[1]), pts(others[2])));
        s.append(String.format(Locale.ROOT, "| all tasks, own: as many random experts masked (control) | %s | %s (sign-flip) |%n", pooled(rnd), p(rnd.p())));
        s.append(String.format(Locale.ROOT, "| all tasks, others: random experts masked (mean; range) | %s (%s to %s) | |%n",
                pts(othersRandom[0]), pts(othersRandom[1]), pts(othersRandom[2])));
        s.append(String.format(Locale.ROOT, "| all tasks, own: as many random unnamed experts masked (control) | %s | %s (sign-flip) |%n", pooled(unn), p(unn.p())));
        s.append(String.format(Locale.ROOT, "| all tasks, others: random unnamed experts masked (mean; range) | %s (%s to %s) | |%n",
                pts(othersUnnamed[0]), pts(othersUnnamed[1]), pts(othersUnnamed[2])));
        s.append(String.format(Locale.ROOT, "| all tasks, own: named masked against unnamed masked | %s | %s (sign-flip) |%n", pooled(vsUnnamed), p(vsUnnamed.p())));
        s.append(String.format(Locale.ROOT, "| untagged-dev, oracle steering (%s; chosen on untagged-dev) | %s, wrong→right %d, right→wrong %d | %s (sign-flip, before Holm) |%n",
                best.name(), pooled(untagged), uwr, urw, p(untagged.p())));
        s.append(String.format(Locale.ROOT, "| dev (tagged), same steering | %s, wrong→right %d, right→wrong %d | %s (sign-flip) |%n%n", pooled(tagged), wr, rw, p(tagged.p())));

        boolean causal = own.high() < 0 && own.difference() <= -0.10;
        boolean beyondOthers = vsUnnamed.high() < 0;
        boolean specific = Math.abs(others[0]) <= 0.25 * Math.abs(own.difference());
        String worst = worstOthers(seeds);
        String verdict = !causal ? "No clear causal effect."
                : !beyondOthers ? "Masking them hurts, but no more than masking as many experts not named for the task: no evidence that they are special."
                : specific ? "Yes: they matter causally for their task, far more than for the other tasks, and more than as many other experts."
                : "Yes for their own task, and more than as many other experts, but not specifically: masking them also costs the other tasks much.";
        s.append(String.format(Locale.ROOT, "**Do the named experts matter?** %s Masking each task's named experts changes its own accuracy by %s points "
                        + "(p %s); masking as many experts drawn from those not named for the task changes it by %s (named against that control: %s, p %s), "
                        + "as many drawn from all experts by %s. The named masks change the other tasks' accuracy by %s points on average (%s to %s over tasks; "
                        + "the most shared: %s). ",
                verdict, pts(own.difference()), p(own.p()), pts(unn.difference()), pts(vsUnnamed.difference()), p(vsUnnamed.p()), pts(rnd.difference()),
                pts(others[0]), pts(others[1]), pts(others[2]), worst));
        boolean helped = untagged.low() > 0;
        s.append(String.format(Locale.ROOT, "**Did oracle steering help on untagged?** %s The best of the four pre-registered arms (%s, chosen on the same split) "
                        + "changes untagged-dev accuracy by %s points (%d wrong→right, %d right→wrong, p %s before Holm); the same steering on the tagged dev split "
                        + "turns %d right answers wrong (%d wrong ones right, %s points).%s%n%n",
                helped ? "On dev, yes, modestly, with the true task given (no test split could confirm it), and at a clear in-distribution cost."
                        : "No measurable help.", best.name(), pts(untagged.difference()), uwr, urw, p(untagged.p()), rw, wr, pts(tagged.difference()), topK(seeds)));
        return s.toString();
    }

    /** What promoting every named expert (the top-k arms) did on the tagged dev split. */
    static String topK(List<ModelRun> seeds) {
        List<String> parts = new ArrayList<>();
        for (Arm a : ARMS) {
            if (a.perLayer() == 0) parts.add(a.name() + " " + pts(steerPooled(seeds, a, "dev").difference()));
        }
        return " Promoting all of a task's named experts (the top-k arms: where a layer has k named experts, every routed slot goes to them) changes tagged dev accuracy by "
                + String.join(" and ", parts) + " points.";
    }

    /** The task whose named mask costs the other tasks most (seed-averaged), with that cost. */
    static String worstOthers(List<ModelRun> seeds) {
        String worst = null;
        double most = Double.POSITIVE_INFINITY;
        for (int t = 0; t < seeds.getFirst().tasks().size(); t++) {
            double d = 0;
            for (ModelRun r : seeds) {
                TaskCheck c = r.tasks().get(t);
                d += PairedComparison.of(pick(r.base(), r.dev(), c.task(), false), pick(c.named(), r.dev(), c.task(), false)).difference() / seeds.size();
            }
            if (d < most) {
                most = d;
                worst = seeds.getFirst().tasks().get(t).task();
            }
        }
        return String.format(Locale.ROOT, "%s's experts, %s", worst, pts(most));
    }

    /** Mean over tasks and seeds of the others' accuracy change under the task's mask; min and max over tasks (seed-averaged). */
    static double[] othersDrop(List<ModelRun> seeds, Mask m) {
        int tasks = seeds.getFirst().tasks().size();
        double sum = 0, min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < tasks; t++) {
            double d = 0;
            for (ModelRun r : seeds) {
                TaskCheck c = r.tasks().get(t);
                d += PairedComparison.of(pick(r.base(), r.dev(), c.task(), false), pick(c.arm(m), r.dev(), c.task(), false)).difference();
            }
            d /= seeds.size();
            sum += d;
            min = Math.min(min, d);
            max = Math.max(max, d);
        }
        return new double[] {sum / tasks, min, max};
    }

    /** {@code doc} with its section {@link #SECTION} (up to the next second-level heading) replaced by {@code section}, or appended. */
    static String replaceSection(String doc, String section) {
        int start = doc.indexOf(SECTION + "\n");
        if (start < 0) return doc.stripTrailing() + "\n\n" + section.stripTrailing() + "\n";
        int end = doc.indexOf("\n## ", start + SECTION.length());
        return doc.substring(0, start) + section.stripTrailing() + "\n" + (end < 0 ? "" : doc.substring(end));
    }
}
