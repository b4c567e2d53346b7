package dev.moeadapter.samples.eval;

import dev.moeadapter.c3po.C3poSettings;
import dev.moeadapter.c3po.C3poStrategy;
import dev.moeadapter.c3po.Embedder;
import dev.moeadapter.c3po.ReferenceSet;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.rerouting.ReroutingSettings;
import dev.moeadapter.rerouting.ReroutingStrategy;
import dev.moeadapter.scmoe.ScmoeSettings;
import dev.moeadapter.scmoe.ScmoeStrategy;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code eval --model FILE.gguf --bench FILE.jsonl [--policy none|scmoe|rerouting|c3po-kr|c3po-kr-paper|c3po-mode|c3po-ngd]
 * [--max-tokens 32] [--limit N] [--threads N] [--ctx 2048] [--out DIR]}, SCMoE: {@code [--alpha 0.1]
 * [--beta 0.5] [--weak rank:2|routed-tok:2|top:1] [--mask-eos false]}, rerouting: {@code [--steps 5] [--interval 128] [--c 0.1] [--q 4]
 * [--step 0.5] [--stability 2] [--layers top:1|soft] [--param full|scalar|top:8] [--window 0] [--seed 0]}, C3PO: {@code --reference
 * FILE.c3po [--k 3] [--bandwidth 0.5] [--critical-layers 5] [--core-experts 20] [--steps 10] [--q 4] [--loss-tokens 8]
 * [--inject from-last|last]}; a set built with {@code c3po-build --embedder ID} is searched with that embedder.
 * {@code --ctx} is per sequence: the session holds one such context for each sequence the policy needs.
 * Prints the table and writes DIR/result.json and DIR/report.html. A test split of a guarded suite
 * (an {@code acceptance.json} beside its tasks folder) runs only as {@link RunLedger} allows, and is
 * recorded in its ledger.
 */
public final class EvalCommand {
    static final String USAGE = """
            usage: ./moe eval --model FILE.gguf --bench FILE.jsonl [--policy none|scmoe|rerouting|c3po-kr|c3po-mode|c3po-ngd]
                              [--max-tokens 32] [--limit N] [--threads N] [--ctx 2048] [--out DIR]
              scmoe:     [--alpha 0.1] [--beta 0.5] [--weak rank:2|top:1]
              rerouting: [--steps 5] [--interval 128] [--c 0.1] [--q 4] [--lr 0.05] [--layers top:0.25|soft]
                         [--param scalar|full|top:8] [--window 0] [--seed 0]
              c3po-*:    --reference FILE.c3po [--k 3] [--bandwidth 0.5] [--critical-layers 5] [--core-experts 20]
                         [--steps 10 (ngd)] [--loss-tokens 1]
            --ctx is per sequence. Prints the table and writes DIR/result.json and DIR/report.html (see docs/evaluation.md).
            """;

    private EvalCommand() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || List.of(args).contains("--help") || List.of(args).contains("-h")) {
            System.out.print(USAGE);
            return;
        }
        try {
            run(args);
        } catch (InvalidRequestException | NumberFormatException e) {
            // a mistake in the arguments: say what it is and how to call, not a stack trace
            System.err.println("eval: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
        }
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

        RunLedger guard = RunLedger.forBenchmark(bench);
        if (guard != null) {
            Map<String, String> settings = new HashMap<>(a);
            settings.keySet().removeAll(java.util.Set.of("model", "bench", "out", "threads"));
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

    static AdaptationStrategy strategy(String policy, Map<String, String> a, Model model) {
        if (policy.startsWith("c3po-")) {
            Map<String, String> named = only(a, C3poSettings.NAMES);
            named.put("algorithm", policy.substring("c3po-".length()));
            C3poSettings settings = C3poSettings.DEFAULTS.withOverrides(StrategySettings.of(named));
            ReferenceSet refs = ReferenceSet.load(Path.of(require(a, "reference")), model);
            try {
                // the set records the embedding space it was built in
                return new C3poStrategy(refs, Embedder.builtIn(refs.header().embedderId()), settings);
            } catch (RuntimeException e) {
                refs.close();
                throw e;
            }
        }
        return switch (policy) {
            case "none" -> new PlainGeneration();
            case "scmoe" -> new ScmoeStrategy(ScmoeSettings.DEFAULTS).withSettings(StrategySettings.of(only(a, ScmoeStrategy.SETTINGS)));
            case "rerouting" -> new ReroutingStrategy(rerouting(a));
            default -> throw new InvalidRequestException("unknown policy '" + policy + "' (none, scmoe, rerouting, c3po-kr, c3po-kr-paper, c3po-mode, c3po-ngd)");
        };
    }

    private static ReroutingSettings rerouting(Map<String, String> a) {
        return ReroutingSettings.DEFAULTS.withOverrides(StrategySettings.of(only(a, ReroutingSettings.NAMES)));
    }



    /** The flags among {@code names}, as named settings. */
    private static Map<String, String> only(Map<String, String> a, java.util.Set<String> names) {
        Map<String, String> named = new HashMap<>(a);
        named.keySet().retainAll(names);
        return named;
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
