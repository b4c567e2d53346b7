package dev.moeadapter.samples.lab;

import dev.moeadapter.c3po.Adaptation;
import dev.moeadapter.c3po.Algorithm;
import dev.moeadapter.c3po.C3poSettings;
import dev.moeadapter.c3po.C3poStrategy;
import dev.moeadapter.c3po.Embedder;
import dev.moeadapter.c3po.HiddenStateEmbedder;
import dev.moeadapter.c3po.ModelFingerprint;
import dev.moeadapter.c3po.Neighbour;
import dev.moeadapter.c3po.ReferenceSet;
import dev.moeadapter.c3po.ReferencePathwayOptimiser;
import dev.moeadapter.c3po.ReferenceSetBuilder;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.samples.cli.Cli;
import dev.moeadapter.samples.eval.BenchmarkFile;
import dev.moeadapter.samples.eval.BenchmarkItem;
import dev.moeadapter.samples.eval.EvalCommand;
import dev.moeadapter.samples.eval.EvalRunner;
import dev.moeadapter.samples.eval.ExpertUsage;
import dev.moeadapter.samples.eval.Proportion;
import dev.moeadapter.samples.eval.Scorer;
import dev.moeadapter.samples.lab.LabSuiteV2.Part;
import dev.moeadapter.samples.lab.LabSuiteV2.Shift;
import dev.moeadapter.samples.lab.LabSuiteV2.Split;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The lab's acceptance checks (LAB.md principle 4), method-agnostic and run before any method is
 * measured on a split. For each evaluation split of the v2 suite, through llama.cpp:
 * <ul>
 *   <li><b>base</b>: greedy exact match;</li>
 *   <li><b>fixed per-task deltas</b>: +D on the router logits of the true task's experts (its k
 *       most used experts per layer on the in-distribution {@code ref} split), every layer and
 *       position, for D in {@link #LADDER}; the smallest D that reaches 90% of the best gain is the
 *       fixing delta's size; the routing ceiling is the better of these and the per-item router
 *       oracle ({@code ./moe lab ceiling}, run beforehand with the same {@code --out}, read from
 *       {@code DIR/oracle-SPLIT.json});</li>
 *   <li><b>SCMoE mask reach</b>: the share of base failures whose gold answer tokens (and EOS)
 *       all lie inside SCMoE's α-mask (p ≥ α · max p, α = 0.1) under teacher forcing — where none
 *       does, no contrast can fix an item;</li>
 *   <li><b>rerouting's signal</b>: with the per-task deltas at the fixing size as candidate
 *       routings, how often the lowest prompt NLL (rerouting's objective) belongs to the true task;</li>
 *   <li><b>C3PO's neighbours</b>: a reference set built from the same shift's {@code ref} split (the
 *       base's correct items and their pathways, the paper's recipe), and the neighbours' pathways
 *       injected where C3PO injects (kernel regression, α = 0); with neighbour purity, the share of
 *       neighbours of the item's own task, for the model's hidden-state embedder or the one {@code --embedder} names.</li>
 * </ul>
 * Logged beside the verdicts, not part of them: where the routing that answers has to act (the true
 * task's delta at the fixing size from the last prompt token on, where C3PO injects, and on the prompt's
 * other tokens only), and the neighbours' pathways injected at every position.
 * Verdicts per split follow LAB.md: usable when 25% ≤ base ≤ 75% (in distribution: base < 92%)
 * and the ceiling ≥ base + 20 points (capped at 99%, without which no in-distribution split with a
 * base above 80% could qualify); SCMoE testable when its reach is ≥ 30%; rerouting when the
 * NLL picks the true task ≥ 80% and the fixing delta is within {@link #REROUTING_BUDGET}; C3PO
 * when its neighbours reach ≥ base + 10 points. A split whose oracle was not run is frozen only when
 * its verdict cannot depend on it: the base rules it out, or the fixed deltas alone reach the headroom.
 *
 * <p>{@code LabCheck --model F.gguf [--splits dev,misleading-dev,…] [--tasks samples/lab/v2/tasks]
 * [--out DIR] [--threads 1] [--embedder model-mean-hidden-state|char-3gram-hash-1024] [--optimise-failures true] [--freeze true]}: writes {@code DIR/check.json} and {@code DIR/check.md}; with
 * {@code --optimise-failures true --freeze true} it adds the optional reference recipe's C3PO verdict
 * ({@value #OPTIMISED_REFS}) to splits frozen before; with
 * {@code --freeze true} also records the verdicts in the suite's {@code acceptance.json}, which the
 * harness consults before any run on a test split ({@link dev.moeadapter.samples.eval.RunLedger}).
 */
public final class LabCheck {

    private static final Logger LOG = LoggerFactory.getLogger(LabCheck.class);

    static final float[] LADDER = {1, 2, 4, 8};
    static final float ALPHA = 0.1f;
    /** The largest router-logit change rerouting is expected to reach per expert: 20 steps × 0.5. */
    static final float REROUTING_BUDGET = 10f;
    private static final int MAX_TOKENS = 16;
    private static final JsonMapper PRETTY = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    /** What one split can and cannot test. */
    public record Verdict(boolean usable, boolean scmoe, boolean rerouting, boolean c3po, String why) {}

    /** The measured checks of one split. */
    public record SplitCheck(String split, Proportion base, Map<String, Proportion> fixedDelta, float fixingDelta,
                             Proportion ceiling, Proportion oracleCeiling, Proportion scmoeReach, Proportion nllPicksTask, Proportion c3poNeighbours,
                             Proportion neighbourPurity, Verdict verdict) {}

    /**
     * The whole check of one model: per task the experts its deltas raise; per task and layer the
     * share of its in-distribution selections on its k most used experts (k / experts if routing
     * ignored the task); per layer the router margin (log p of the k-th minus the (k+1)-th
     * expert, 10th / 50th / 90th percentile over in-distribution prompt tokens); and every split.
     */
    public record Report(String model, List<String> taskExperts, Map<String, double[]> concentration, List<double[]> routerMargins,
                         List<SplitCheck> splits) {}

    private final Model model;
    private final Session session;
    private final Path tasks;
    private final Path work;
    private final String modelSha256;
    /** task id → per layer, the task's k most used experts on the in-distribution ref split. */
    private Map<String, int[][]> taskExperts;
    /** C3PO's embedder for the neighbours' check: the model's mean hidden state (C3PO's default) unless --embedder says otherwise. */
    private final Embedder embedder;
    /** Null: the paper's reference sets (the ref items the base answers); else also its failures, under pathways fitted to their gold answers. */
    private final ReferencePathwayOptimiser.Settings optimiseFailures;

    LabCheck(Model model, Session session, Path tasks, Path work, String modelSha256) {
        this(model, session, tasks, work, modelSha256, new HiddenStateEmbedder(), null);
    }

    LabCheck(Model model, Session session, Path tasks, Path work, String modelSha256, Embedder embedder,
             ReferencePathwayOptimiser.Settings optimiseFailures) {
        this.embedder = embedder;
        this.optimiseFailures = optimiseFailures;
        this.model = model;
        this.modelSha256 = modelSha256;
        this.session = session;
        this.tasks = tasks;
        this.work = work;
    }

    public static void main(String[] args) throws Exception {
        Cli.run("lab check", null, () -> {
            Map<String, String> a = EvalCommand.parse(args);
            Path modelPath = Path.of(EvalCommand.require(a, "model"));
            Path out = Path.of(a.getOrDefault("out", "target/lab-check/" + modelPath.getFileName().toString().replace(".gguf", "")));
            List<Split> splits = a.containsKey("splits") ? Arrays.stream(a.get("splits").split(",")).map(Split::named).toList()
                    : Split.all().stream().filter(s -> s.part() != Part.REF).toList();
            int threads = Integer.parseInt(a.getOrDefault("threads", "1"));
            C3poSettings c3po = C3poSettings.DEFAULTS.withAlgorithm(new Algorithm.KernelRegression(List.of(0.0)));
            Embedder embedder = Embedder.builtIn(a.getOrDefault("embedder", HiddenStateEmbedder.ID));
            ReferencePathwayOptimiser.Settings optimise = Boolean.parseBoolean(a.getOrDefault("optimise-failures", "false"))
                    ? ReferencePathwayOptimiser.Settings.DEFAULTS : null;
            if (Boolean.parseBoolean(a.getOrDefault("freeze", "false")) && !embedder.id().equals(HiddenStateEmbedder.ID)) {
                // a frozen verdict is for C3PO's default embedder: another one is a diagnostic
                throw new IllegalArgumentException("--freeze true records verdicts for C3PO's default embedder only: leave out --embedder");
            }
            int sequences = Math.max(c3po.sequencesNeeded(), optimise == null ? 1 : optimise.sequencesNeeded());
            try (Model model = Model.load(ModelParams.of(modelPath));
                 Session session = model.newSession(new SessionParams(256 * sequences, 256, sequences, threads, threads))) {
                LabCheck check = new LabCheck(model, session, Path.of(a.getOrDefault("tasks", "samples/lab/v2/tasks")), out,
                        ModelFingerprint.sha256(modelPath), embedder, optimise);
                Report r = check.run(modelPath.getFileName().toString(), splits, c3po);
                Files.createDirectories(out);
                PRETTY.writeValue(out.resolve("check.json").toFile(), r);
                Files.writeString(out.resolve("check.md"), markdown(r));
                System.out.print(markdown(r));
                System.out.println("wrote " + out.resolve("check.json") + " and check.md");
                if (Boolean.parseBoolean(a.getOrDefault("freeze", "false"))) {
                    Path file = check.tasks.toAbsolutePath().resolveSibling("acceptance.json");
                    if (optimise == null) {
                        freeze(file, modelPath, r);
                    } else {
                        freezeOptimisedReferences(file, modelPath, r);
                    }
                    System.out.println("froze the verdicts in " + file);
                }
            }
        });
    }

    Report run(String modelName, List<Split> splits, C3poSettings c3po) throws IOException {
        EvalRunner inDistribution = new EvalRunner(model, session, new PlainGeneration(), MAX_TOKENS);
        inDistribution.run(read(new Split(Shift.NONE, Part.REF)));
        taskExperts = taskExperts(inDistribution.expertUsage());
        List<double[]> margins = routerMargins(read(new Split(Shift.NONE, Part.DEV)).subList(0, 100));
        List<String> described = new ArrayList<>();
        taskExperts.forEach((t, e) -> described.add(t + ": " + Arrays.deepToString(e)));
        Map<Shift, Path> references = new HashMap<>();
        List<SplitCheck> checks = new ArrayList<>();
        for (Split s : splits) {
            Path ref = references.computeIfAbsent(s.shift(), this::buildReference);
            checks.add(check(s, ref, c3po));
        }
        return new Report(modelName, described, inDistribution.expertUsage().concentration(), margins, checks);
    }

    private List<BenchmarkItem> read(Split s) {
        return BenchmarkFile.read(tasks.resolve(s.fileName()));
    }

    /** Per task and layer, the k experts the base routes the task's in-distribution tokens to most. */
    private Map<String, int[][]> taskExperts(ExpertUsage usage) {
        Map<String, int[][]> out = new LinkedHashMap<>();
        int k = model.info().expertsUsed();
        usage.byTask().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            long[][] u = e.getValue();
            int[][] top = new int[u.length][];
            for (int l = 0; l < u.length; l++) {
                long[] row = u[l];
                top[l] = java.util.stream.IntStream.range(0, row.length).boxed()
                        .sorted((x, y) -> Long.compare(row[y], row[x])).limit(k).mapToInt(Integer::intValue).toArray();
            }
            out.put(e.getKey(), top);
        });
        return out;
    }

    /** Per MoE layer, the 10th, 50th and 90th percentile of log p(k-th expert) − log p((k+1)-th) over the prompts' tokens. */
    private List<double[]> routerMargins(List<BenchmarkItem> items) {
        int k = model.info().expertsUsed();
        Map<Integer, List<Double>> byLayer = new java.util.TreeMap<>();
        session.setPlan(0, RoutingPlan.EMPTY);
        for (BenchmarkItem it : items) {
            session.setTrace(0, TraceSpec.routesAndProbabilities(PositionRange.ALL));
            decodeAll(model.tokenize(it.prompt()));
            for (TokenProbabilities tp : session.drainTrace().probabilities()) {
                float[] p = tp.probabilities();
                Arrays.sort(p);
                double margin = Math.log(p[p.length - k]) - Math.log(Math.max(p[p.length - k - 1], Float.MIN_NORMAL));
                byLayer.computeIfAbsent(tp.layer(), l -> new ArrayList<>()).add(margin);
            }
        }
        session.setTrace(0, TraceSpec.OFF);
        List<double[]> out = new ArrayList<>();
        byLayer.values().forEach(m -> {
            double[] v = m.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            out.add(new double[] {v[(int) (0.1 * (v.length - 1))], v[(v.length - 1) / 2], v[(int) (0.9 * (v.length - 1))]});
        });
        return out;
    }

    private Path buildReference(Shift shift) {
        Split ref = new Split(shift, Part.REF);
        Path file = work.resolve(ref.name() + ".c3po");
        List<ReferenceSetBuilder.Example> examples = read(ref).stream()
                .map(it -> new ReferenceSetBuilder.Example(it.id(), it.prompt(), MAX_TOKENS, EvalRunner.stopStrings(it.scoring()),
                        text -> Scorer.correct(it.scoring(), text), it.scoring().gold()))
                .toList();
        ReferenceSetBuilder builder = new ReferenceSetBuilder(model, session, embedder, MAX_TOKENS, 100);
        ReferenceSetBuilder.Outcome o = (optimiseFailures == null ? builder : builder.optimisingFailures(optimiseFailures)).build(examples, file);
        LOG.info("reference set for {} ({}): {} of {} items answered correctly, {} more under a pathway fitted to their gold answer",
                ref.name(), embedder.id(), o.keptPlain(), o.examined(), o.keptOptimised());
        return file;
    }

    private SplitCheck check(Split split, Path reference, C3poSettings c3po) throws IOException {
        List<BenchmarkItem> items = read(split);
        LOG.info("checking {} ({} items)", split.name(), items.size());
        boolean[] base = answers(items, it -> RoutingPlan.EMPTY);
        int baseRight = count(base);

        Map<String, Proportion> fixed = new LinkedHashMap<>();
        int best = baseRight;
        int[] rightAt = new int[LADDER.length];
        for (int i = 0; i < LADDER.length; i++) {
            float d = LADDER[i];
            rightAt[i] = count(answers(items, it -> taskDelta(it.task(), d)));
            fixed.put(String.format(Locale.ROOT, "+%.0f", d), Proportion.of(rightAt[i], items.size()));
            best = Math.max(best, rightAt[i]);
        }
        int candidate = LADDER.length - 1; // the fixing size's rung, else the largest
        float fixing = Float.NaN;
        for (int i = 0; i < LADDER.length && best > baseRight; i++) {
            if (rightAt[i] - baseRight >= 0.9 * (best - baseRight)) {
                candidate = i;
                fixing = LADDER[i];
                break;
            }
        }
        float candidateDelta = LADDER[candidate];

        int reach = 0, failures = 0, picks = 0;
        double baseNll = 0, trueTaskNll = 0;
        for (int i = 0; i < items.size(); i++) {
            BenchmarkItem it = items.get(i);
            if (!base[i]) {
                failures++;
                if (insideMask(it)) reach++;
            }
            NllPick pick = nllPick(it, candidateDelta);
            if (pick.task().equals(it.task())) picks++;
            baseNll += pick.base();
            trueTaskNll += pick.trueTask();
        }

        // where the task's routing has to act: C3PO injects from the last prompt token on, rerouting everywhere
        Map<BenchmarkItem, Integer> lastPromptToken = new HashMap<>();
        items.forEach(it -> lastPromptToken.put(it, model.tokenize(it.prompt()).length - 1));
        int answerSpan = count(answers(items, it -> taskDelta(it.task(), candidateDelta, PositionRange.from(lastPromptToken.get(it)))));
        int promptSpan = count(answers(items, it -> taskDelta(it.task(), candidateDelta, PositionRange.of(0, lastPromptToken.get(it)))));
        int c3poRight = 0, c3poEverywhere = 0, pure = 0, neighbours = 0;
        try (ReferenceSet refs = ReferenceSet.load(reference, model)) {
            Map<String, String> refTask = new HashMap<>();
            read(new Split(split.shift(), Part.REF)).forEach(it -> refTask.put(it.id(), it.task()));
            C3poStrategy strategy = new C3poStrategy(refs, embedder, c3po);
            for (BenchmarkItem it : items) {
                int[] prompt = model.tokenize(it.prompt());
                Adaptation a = strategy.adapt(session, prompt, new CancellationToken());
                for (Neighbour n : a.neighbours()) {
                    neighbours++;
                    if (it.task().equals(refTask.get(n.id()))) pure++;
                }
                var r = strategy.generate(session, request(prompt, it), TokenListener.NONE, new CancellationToken());
                if (Scorer.correct(it.scoring(), r.text())) c3poRight++;
                if (a.adapted()) { // the same pathway over the whole prompt too, where the task's routing acts here
                    session.setPlan(0, dev.moeadapter.c3po.CriticalRegion.plan(a.layers(), a.pathway(), PositionRange.ALL));
                    var w = new Generator(session, 0).generate(request(prompt, it), TokenListener.NONE, new CancellationToken());
                    session.setPlan(0, RoutingPlan.EMPTY);
                    if (Scorer.correct(it.scoring(), w.text())) c3poEverywhere++;
                } else if (Scorer.correct(it.scoring(), r.text())) {
                    c3poEverywhere++;
                }
            }
        }
        Proportion baseP = Proportion.of(baseRight, items.size());
        Proportion oracle = oracleCeiling(split, items);
        Proportion ceiling = Proportion.of(Math.max(best, oracle.successes()), items.size());
        Proportion reachP = Proportion.of(reach, failures), picksP = Proportion.of(picks, items.size());
        Proportion c3poP = Proportion.of(c3poRight, items.size());
        Verdict v = verdict(split, baseP, ceiling, oracle.n() > 0, reachP, picksP, fixing, c3poP);
        SplitCheck c = new SplitCheck(split.name(), baseP, fixed, fixing, ceiling, oracle, reachP, picksP, c3poP, Proportion.of(pure, neighbours), v);
        LOG.info("{}: base {}, fixed-delta ceiling {} (D = {}), SCMoE reach {}, NLL picks the task {}, C3PO neighbours {}, purity {}; {}",
                split.name(), baseP, ceiling, fixing, reachP, picksP, c3poP, c.neighbourPurity(), v);
        LOG.info("{}: C3PO's neighbours' pathways injected at every position answer {}", split.name(), Proportion.of(c3poEverywhere, items.size()));
        LOG.info("{}: the true task's delta (D = {}) at every position answers {}, from the last prompt token on (where C3PO injects) {}, "
                        + "on the prompt's other tokens only {}", split.name(), candidateDelta, Proportion.of(rightAt[candidate], items.size()),
                Proportion.of(answerSpan, items.size()), Proportion.of(promptSpan, items.size()));
        LOG.info(String.format(Locale.ROOT, "%s: the prompt's mean NLL per token, %.4f under the model's routing, %.4f under the true task's delta (D = %.0f)",
                split.name(), baseNll / items.size(), trueTaskNll / items.size(), candidateDelta));
        return c;
    }

    /**
     * Records the verdicts in the suite's {@code acceptance.json} under the model's SHA-256. A split
     * frozen before stays as it was: the table is fixed before any method runs on a test split.
     */
    static void freeze(Path file, Path model, Report r) throws IOException {
        locked(file, () -> freezeLocked(file, model, r));
    }

    /** What runs while the acceptance table's lock is held. */
    private interface Locked {
        void run() throws IOException;
    }

    /** Checks of several models may finish at once: one writer at a time, each reading the other's entries. */
    private static void locked(Path file, Locked action) throws IOException {
        try (var lock = java.nio.channels.FileChannel.open(file.resolveSibling(file.getFileName() + ".lock"),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE); var held = lock.lock()) {
            action.run();
        }
    }

    /** The acceptance verdict key of C3PO on reference sets built with LAB.md's optional recipe (failures under fitted pathways). */
    static final String OPTIMISED_REFS = "c3po-optimised-refs";

    /**
     * Adds to splits frozen before (by the paper's recipe) whether they can test C3PO on reference sets whose
     * failures were kept under fitted pathways: the split's frozen usability, and neighbours' pathways from such
     * a set reaching base + 10 points. A verdict recorded before stays as it was.
     */
    static void freezeOptimisedReferences(Path file, Path model, Report r) throws IOException {
        if (!Files.exists(file)) throw new IllegalStateException(file + " does not exist: freeze the paper's recipe first");
        locked(file, () -> addOptimisedReferences(file, model, r));
    }

    private static void addOptimisedReferences(Path file, Path model, Report r) throws IOException {
        ObjectNode root = (ObjectNode) PRETTY.readTree(file.toFile());
        JsonNode splits = root.path(ModelFingerprint.sha256(model)).path("splits");
        for (SplitCheck c : r.splits()) {
            if (!(splits.path(c.split()) instanceof ObjectNode entry)) {
                LOG.warn("{} on {} is not frozen yet: freeze the paper's recipe first", c.split(), model.getFileName());
                continue;
            }
            ObjectNode canTest = (ObjectNode) entry.get("canTest");
            if (canTest.has(OPTIMISED_REFS)) {
                LOG.warn("{} on {}: {} was frozen before; it stays as it was", c.split(), model.getFileName(), OPTIMISED_REFS);
                continue;
            }
            canTest.put(OPTIMISED_REFS, entry.path("usable").asBoolean(false) && neighboursReach(c.base(), c.c3poNeighbours()));
            entry.put("whyOptimisedRefs", String.format(Locale.ROOT, "neighbours' pathways from a reference set with fitted failures: %s against base %s",
                    c.c3poNeighbours(), c.base()));
        }
        PRETTY.writeValue(file.toFile(), root);
    }

    private static void freezeLocked(Path file, Path model, Report r) throws IOException {
        ObjectNode root = Files.exists(file)
                ? (ObjectNode) PRETTY.readTree(file.toFile()) : PRETTY.createObjectNode();
        String sha = ModelFingerprint.sha256(model);
        ObjectNode entry = root.has(sha) ? (ObjectNode) root.get(sha)
                : root.putObject(sha).put("model", model.getFileName().toString());
        ObjectNode splits = entry.has("splits") ? (ObjectNode) entry.get("splits")
                : entry.putObject("splits");
        for (SplitCheck c : r.splits()) {
            // a base outside its band settles "cannot test" whatever the oracle finds, and fixed deltas that already reach the
            // headroom settle "usable" (the oracle could only raise the ceiling), so such a split freezes without it
            if (c.oracleCeiling().n() == 0 && baseInBand(Split.named(c.split()), c.base()) && !hasHeadroom(c.base(), c.ceiling())) {
                LOG.warn("{} is not frozen: its routing ceiling needs the per-item oracle first (./moe lab ceiling --split {} with the same --out)",
                        c.split(), c.split());
                continue;
            }
            if (splits.has(c.split())) {
                LOG.warn("{} on {} was frozen before; its entry stays as it was", c.split(), model.getFileName());
                continue;
            }
            ObjectNode s = splits.putObject(c.split());
            s.put("frozen", Instant.now().toString()).put("base", c.base().value()).put("ceiling", c.ceiling().value())
                    .put("oracleCeiling", c.oracleCeiling().n() == 0 ? null : c.oracleCeiling().value())
                    .put("usable", c.verdict().usable()).put("why", c.verdict().why());
            s.putObject("canTest").put("scmoe", c.verdict().scmoe()).put("rerouting", c.verdict().rerouting()).put("c3po", c.verdict().c3po());
        }
        PRETTY.writeValue(file.toFile(), root);
    }

    /** The routing ceiling a split with a high base must reach instead of base + 20 points. */
    static final double CEILING_CAP = 0.99;

    /** In distribution the base must leave room (below 92%); on a shift it must sit in [25, 75]% to be worth adapting. */
    static boolean baseInBand(Split split, Proportion base) {
        return split.shift() == Shift.NONE ? base.value() < 0.92 : base.value() >= 0.25 && base.value() <= 0.75;
    }

    /** Whether the routing ceiling leaves a method room: base + 20 points, or 99% of the items where that is more. */
    static boolean hasHeadroom(Proportion base, Proportion ceiling) {
        return ceiling.value() >= Math.min(CEILING_CAP, base.value() + 0.20) - 1e-9;
    }

    static Verdict verdict(Split split, Proportion base, Proportion ceiling, boolean oracleRun, Proportion reach, Proportion picks, float fixing,
                           Proportion c3po) {
        List<String> why = new ArrayList<>();
        boolean baseOk = baseInBand(split, base);
        if (!baseOk) why.add(String.format(Locale.ROOT, "base %.1f%% outside %s", 100 * base.value(), split.shift() == Shift.NONE ? "[0, 92)%" : "[25, 75]%"));
        // base + 20 points, or 99% of the items where that exceeds what the split has: an in-distribution split with base
        // in 80–92% can still qualify, and one or two items the (approximate) oracle misses do not rule it out
        boolean headroom = hasHeadroom(base, ceiling);
        if (!headroom) why.add(String.format(Locale.ROOT, "routing ceiling %.1f%% < min(base + 20 points, 99%%)%s", 100 * ceiling.value(),
                oracleRun ? "" : baseOk ? " (per-item oracle not run yet)" : " (per-item oracle not run: the base rules the split out)"));
        boolean usable = baseOk && headroom;
        boolean scmoe = usable && reach.n() > 0 && reach.value() >= 0.30;
        if (usable && !scmoe) why.add("SCMoE: mask reach below 30% of base failures");
        boolean rerouting = usable && picks.value() >= 0.80 && !Float.isNaN(fixing) && fixing <= REROUTING_BUDGET;
        if (usable && !rerouting) why.add("rerouting: prompt NLL picks the true task on fewer than 80% of items, or no fixing delta within budget");
        boolean c3poOk = usable && neighboursReach(base, c3po);
        if (usable && !c3poOk) why.add("C3PO: neighbours' pathways reach less than base + 10 points");
        return new Verdict(usable, scmoe, rerouting, c3poOk, why.isEmpty() ? "all checks pass" : String.join("; ", why));
    }

    /** C3PO's premise on a split: the neighbours' pathways, injected where C3PO injects, answer at least base + 10 points. */
    static boolean neighboursReach(Proportion base, Proportion neighbours) {
        return neighbours.value() >= base.value() + 0.10;
    }

    /** Greedy answers of every item under the plan {@code plans} gives it; true where right. */
    private boolean[] answers(List<BenchmarkItem> items, java.util.function.Function<BenchmarkItem, RoutingPlan> plans) {
        boolean[] right = new boolean[items.size()];
        for (int i = 0; i < items.size(); i++) {
            BenchmarkItem it = items.get(i);
            session.setPlan(0, plans.apply(it));
            int[] prompt = model.tokenize(it.prompt());
            var r = new Generator(session, 0).generate(request(prompt, it), TokenListener.NONE, new CancellationToken());
            right[i] = Scorer.correct(it.scoring(), r.text());
        }
        session.setPlan(0, RoutingPlan.EMPTY);
        return right;
    }

    private static GenerationRequest request(int[] prompt, BenchmarkItem it) {
        return new GenerationRequest(prompt, MAX_TOKENS, SamplingParams.GREEDY, EvalRunner.stopStrings(it.scoring()), false);
    }

    /**
     * The per-item router oracle's reach on this split ({@code ./moe lab ceiling} with the same
     * {@code --out}: items the base or one of its attempts answered), or n = 0 when it was not run.
     */
    private Proportion oracleCeiling(Split split, List<BenchmarkItem> items) throws IOException {
        Path file = work.resolve("oracle-" + split.name() + ".json");
        if (!Files.exists(file)) return Proportion.of(0, 0);
        OracleProgress progress = JsonMapper.builder().build().readValue(file.toFile(), OracleProgress.class);
        if (!progress.of(modelSha256)) {
            throw new IllegalStateException(file + " was measured on another " + progress.model() + " (the file has changed since): rerun ./moe lab ceiling");
        }
        return Proportion.of((int) items.stream().filter(it -> progress.reached(it.id())).count(), items.size());
    }

    /** +d on the router logits of the task's experts in every MoE layer, at every position. */
    RoutingPlan taskDelta(String task, float d) {
        return taskDelta(task, d, PositionRange.ALL);
    }

    /** +d on the router logits of the task's experts in every MoE layer, at {@code positions}. */
    RoutingPlan taskDelta(String task, float d, PositionRange positions) {
        int[][] experts = taskExperts.get(task);
        if (experts == null) throw new IllegalStateException("no expert usage recorded for task " + task);
        List<RouterEdit> edits = new ArrayList<>();
        for (int layer : model.info().moeLayers()) {
            float[] delta = new float[model.info().experts()];
            for (int e : experts[layer]) delta[e] = d;
            edits.add(new RouterEdit.AddDelta(layer, delta, positions));
        }
        return new RoutingPlan(edits);
    }

    /** Teacher-forced: does every gold token (answer and EOS) lie inside SCMoE's α-mask? */
    private boolean insideMask(BenchmarkItem it) {
        int[] prompt = model.tokenize(it.prompt());
        int[] answer = Arrays.copyOfRange(model.tokenize(it.prompt() + it.scoring().gold()), prompt.length, prompt.length + it.scoring().gold().length());
        int[] all = Arrays.copyOf(prompt, prompt.length + answer.length);
        System.arraycopy(answer, 0, all, prompt.length, answer.length);
        decodeAll(all);
        for (int j = 0; j <= answer.length; j++) {
            float[] logits = session.logits(prompt.length - 1 + j);
            int gold = j < answer.length ? answer[j] : model.info().eos();
            float max = Float.NEGATIVE_INFINITY;
            for (float x : logits) max = Math.max(max, x);
            if (logits[gold] < max + Math.log(ALPHA)) return false;
        }
        return true;
    }

    /**
     * Rerouting's signal on one item: the task whose per-task delta gives the prompt the lowest NLL, and the
     * prompt's mean NLL per token under the model's own routing and under the true task's delta.
     */
    private record NllPick(String task, double base, double trueTask) {}

    private NllPick nllPick(BenchmarkItem it, float d) {
        int[] prompt = model.tokenize(it.prompt());
        int[] idx = new int[prompt.length - 1], targets = new int[prompt.length - 1];
        for (int i = 0; i + 1 < prompt.length; i++) {
            idx[i] = i;
            targets[i] = prompt[i + 1];
        }
        String best = null;
        double bestNll = Double.POSITIVE_INFINITY, trueTask = Double.NaN;
        for (String task : taskExperts.keySet()) {
            double nll = promptNll(prompt, idx, targets, taskDelta(task, d));
            if (task.equals(it.task())) trueTask = nll;
            if (nll < bestNll) {
                bestNll = nll;
                best = task;
            }
        }
        double base = promptNll(prompt, idx, targets, RoutingPlan.EMPTY); // last: leaves the session's plan empty
        return new NllPick(best, base / idx.length, trueTask / idx.length);
    }

    private double promptNll(int[] prompt, int[] idx, int[] targets, RoutingPlan plan) {
        session.setPlan(0, plan);
        decodeAll(prompt);
        double nll = 0;
        for (float x : session.nll(idx, targets)) nll += x;
        return nll;
    }

    /** Decodes {@code tokens} on sequence 0 from scratch, every position an output (they fit one batch). */
    private void decodeAll(int[] tokens) {
        session.clearSequence(0);
        session.decode(Batch.allOutputs(0, 0, tokens));
    }

    private static int count(boolean[] b) {
        int n = 0;
        for (boolean x : b) n += x ? 1 : 0;
        return n;
    }

    static String markdown(Report r) {
        StringBuilder sb = new StringBuilder("Acceptance checks for `" + r.model() + "` (n = 400 per split; 95% Wilson intervals)\n\n");
        sb.append("Router margin per layer (log p of the k-th minus the (k+1)-th expert; 10th / 50th / 90th percentile, in-distribution dev prompts): ");
        for (int l = 0; l < r.routerMargins().size(); l++) {
            double[] m = r.routerMargins().get(l);
            sb.append(String.format(Locale.ROOT, "%sL%d %.2f / %.2f / %.2f", l == 0 ? "" : ", ", l, m[0], m[1], m[2]));
        }
        sb.append("\n\nExpert specialisation (share of a task's in-distribution selections on its k most used experts, per layer):\n\n");
        r.concentration().forEach((task, c) -> {
            sb.append("- ").append(task).append(':');
            for (double x : c) sb.append(String.format(Locale.ROOT, " %.2f", x));
            sb.append('\n');
        });
        sb.append("\n"
                + "| split | base | fixed per-task delta (best, D) | per-item oracle | SCMoE mask reach | prompt NLL picks the task | C3PO neighbours | neighbour purity | can test |\n"
                + "|---|---|---|---|---|---|---|---|---|\n");
        for (SplitCheck c : r.splits()) {
            Verdict v = c.verdict();
            String can = !v.usable() ? "nothing (" + v.why() + ")"
                    : String.join(", ", List.of(v.scmoe() ? "SCMoE" : "", v.rerouting() ? "rerouting" : "", v.c3po() ? "C3PO" : "")
                    .stream().filter(x -> !x.isEmpty()).toList()) + (v.why().equals("all checks pass") ? "" : "; cannot: " + v.why());
            Proportion bestFixed = c.fixedDelta().values().stream().max(java.util.Comparator.comparingInt(Proportion::successes)).orElse(c.base());
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s, D = %s | %s | %s | %s | %s | %s | %s |%n", c.split(), pct(c.base()), pct(bestFixed),
                    Float.isNaN(c.fixingDelta()) ? "none" : String.format(Locale.ROOT, "%.0f", c.fixingDelta()),
                    c.oracleCeiling().n() == 0 ? "not run" : pct(c.oracleCeiling()),
                    pct(c.scmoeReach()) + " of " + c.scmoeReach().n(), pct(c.nllPicksTask()), pct(c.c3poNeighbours()), pct(c.neighbourPurity()), can));
        }
        return sb.toString();
    }

    private static String pct(Proportion p) {
        return p.n() == 0 ? "n/a" : String.format(Locale.ROOT, "%.1f%% [%.1f, %.1f]", 100 * p.value(), 100 * p.low(), 100 * p.high());
    }
}
