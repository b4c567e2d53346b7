package dev.moeadapter.samples.eval;

import dev.moeadapter.c3po.C3poStrategy;
import dev.moeadapter.c3po.ReferenceSet;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationProvider;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.ProviderContext;
import dev.moeadapter.core.adaptation.ResultCache;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.samples.cli.Cli;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code eval --model FILE.gguf --bench FILE.jsonl [--policy none|scmoe|rerouting|c3po-kr|c3po-kr-paper|c3po-mode|c3po-ngd]
 * [--max-tokens 32] [--limit N] [--threads N] [--ctx 2048] [--out DIR]}, C3PO also {@code --reference FILE.c3po}, and any
 * setting of the policy's method as {@code --NAME VALUE} (its schema, docs/settings.md: e.g. SCMoE {@code --beta 0.5
 * --weak rank:2}, rerouting {@code --steps 5 --q 4}, C3PO {@code --k 3 --steps 10}); a set built with
 * {@code c3po-build --embedder ID} is searched with that embedder.
 * {@code --ctx} is per sequence: the session holds one such context for each sequence the policy needs.
 * Prints the table and writes DIR/result.json and DIR/report.html. A test split of a guarded suite
 * (an {@code acceptance.json} beside its tasks folder) runs only as {@link RunLedger} allows, and is
 * recorded in its ledger: {@code --reference-recipe optimised-failures} names a C3PO set built with
 * {@code --optimise-failures true} (its own verdict), {@code --outside-check REGISTRATION} a run registered to go ahead
 * where the frozen check refuses its method.
 */
public final class EvalCommand {
    static final String USAGE = """
            usage: ./moe eval --model FILE.gguf --bench FILE.jsonl [--policy none|scmoe|rerouting|c3po-kr|c3po-kr-paper|c3po-mode|c3po-ngd]
                              [--max-tokens 32] [--limit N] [--threads N] [--ctx 2048] [--out DIR] [--reference FILE.c3po (c3po-*)]
                              [--NAME VALUE ...]   settings of the policy's method, e.g. --beta 0.5 --weak rank:2 (scmoe),
                                                   --steps 5 --q 4 (rerouting), --k 3 --loss-tokens 8 (c3po); see docs/settings.md
            --ctx is per sequence. Prints the table and writes DIR/result.json and DIR/report.html (see docs/evaluation.md).
            On a guarded test split (an acceptance.json beside the tasks folder) the run ledger admits and records the run:
                              [--reference-recipe paper|optimised-failures (c3po-*)] [--outside-check REGISTRATION]
            """;

    private EvalCommand() {}

    public static void main(String[] args) throws Exception {
        Cli.run("eval", USAGE, () -> {
            if (args.length == 0 || List.of(args).contains("--help") || List.of(args).contains("-h")) {
                System.out.print(USAGE);
                return;
            }
            run(args);
        });
    }

    /** Runs one evaluation; bad arguments are an {@link InvalidRequestException}. */
    public static void run(String[] args) throws Exception {
        Map<String, String> a = parse(args);
        Path modelPath = Path.of(require(a, "model"));
        Path bench = Path.of(require(a, "bench"));
        String policy = a.getOrDefault("policy", "none");
        int maxTokens = Integer.parseInt(a.getOrDefault("max-tokens", "32"));
        int threads = Integer.parseInt(a.getOrDefault("threads", String.valueOf(Runtime.getRuntime().availableProcessors())));
        int ctx = Integer.parseInt(a.getOrDefault("ctx", "2048"));
        Path out = Path.of(a.getOrDefault("out", "eval-out"));

        RunLedger.method(policy, a); // a reference recipe that is not one, or on a policy without references, is refused on every split
        RunLedger guard = RunLedger.forBenchmark(bench);
        if (guard != null) {
            Map<String, String> settings = new HashMap<>(a);
            settings.keySet().removeAll(Set.of("model", "bench", "out", "threads"));
            guard.admit(modelPath, bench, policy, settings);
        }
        List<BenchmarkItem> items = BenchmarkFile.read(bench);
        if (a.containsKey("limit")) {
            items = items.subList(0, Math.min(items.size(), Integer.parseInt(a.get("limit"))));
        }
        try (Model model = Model.load(ModelParams.of(modelPath))) {
            AdaptationStrategy strategy = strategy(policy, a, model);
            try {
                strategy.validate(model.info()); // a method the model cannot run is refused before any item, as the service does
                int sequences = Math.max(2, strategy.sequencesNeeded());
                try (Session session = model.newSession(new SessionParams(ctx * sequences, 512, sequences, threads, threads))) {
                    EvalRunner runner = new EvalRunner(model, session, strategy, maxTokens);
                    List<ItemResult> results = runner.run(items);
                    EvalReport report = EvalReport.of(modelPath.getFileName().toString(), bench.getFileName().toString(),
                            policy, results, runner.expertUsage());
                    System.out.print(report.table());
                    report.writeJson(out.resolve("result.json"));
                    report.writeHtml(out.resolve("report.html"));
                    System.out.println("wrote " + out.resolve("result.json") + " and " + out.resolve("report.html"));
                }
            } finally {
                if (strategy instanceof C3poStrategy c3po) {
                    c3po.referenceSet().close();
                }
            }
        }
    }

    /** Flags of the harness itself; every other flag is a setting of the policy's method. */
    static final Set<String> HARNESS_FLAGS = Set.of("model", "bench", "policy", "max-tokens", "limit", "threads", "ctx", "out", "reference",
            RunLedger.REFERENCE_RECIPE, RunLedger.OUTSIDE_CHECK, RunLedger.RERUN);
    private static final String POLICIES = "none, scmoe, rerouting, c3po-kr, c3po-kr-paper, c3po-mode, c3po-ngd";

    /**
     * The strategy a policy names, built by its method's provider with the flags that are not the
     * harness's as settings: the provider's schema reads them, so a flag the method does not know is
     * refused, naming the method's settings.
     */
    static AdaptationStrategy strategy(String policy, Map<String, String> a, Model model) {
        boolean c3po = policy.startsWith("c3po-");
        AdaptationProvider provider = (policy.equals("c3po") ? java.util.Optional.<AdaptationProvider>empty()
                : AdaptationProvider.named(c3po ? "c3po" : policy))
                .orElseThrow(() -> new InvalidRequestException("unknown policy '" + policy + "' (" + POLICIES + ")"));
        Map<String, String> settings = new HashMap<>(a);
        settings.keySet().removeAll(HARNESS_FLAGS);
        if (!c3po) {
            return provider.create(ProviderContext.of(model.info(), ResultCache.NONE), StrategySettings.of(settings));
        }
        if (settings.containsKey("algorithm")) {
            throw new InvalidRequestException("the c3po algorithm is named by the policy (c3po-kr, c3po-kr-paper, c3po-mode, c3po-ngd), not --algorithm");
        }
        settings.put("algorithm", policy.substring("c3po-".length()));
        StrategySettings named = StrategySettings.of(settings);
        provider.requirements(named); // refused settings before the reference set is read
        ReferenceSet refs = ReferenceSet.load(Path.of(require(a, "reference")), model);
        try {
            // without an embedder of its own the provider searches with the one the set was built with
            return provider.create(ProviderContext.of(model.info(), ResultCache.NONE, refs), named);
        } catch (RuntimeException e) {
            refs.close();
            throw e;
        }
    }

    public static Map<String, String> parse(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new InvalidRequestException("arguments are --name value pairs; bad: " + args[i]);
            }
            m.put(args[i].substring(2), args[++i]);
        }
        return m;
    }

    public static String require(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null) {
            throw new InvalidRequestException("missing --" + key);
        }
        return v;
    }
}
