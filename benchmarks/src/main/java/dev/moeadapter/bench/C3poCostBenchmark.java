package dev.moeadapter.bench;

import dev.moeadapter.c3po.C3poSettings;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.c3po.C3poStrategy;
import dev.moeadapter.c3po.HiddenStateEmbedder;
import dev.moeadapter.c3po.ReferenceSet;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.generation.TokenListener;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Cost per item of C3PO against plain greedy generation, in one run on one session: for each item
 * of a JSONL benchmark ({@code prompt} field) the two arms answer alternately, so machine noise
 * hits both alike. {@code C3poCostBenchmark --model F.gguf --reference F.c3po --bench F.jsonl
 * [--algorithm kr|kr-paper|mode|ngd] (any c3po setting, docs/settings.md) [--items 100] [--threads 1] [--max-tokens 12]}
 */
public final class C3poCostBenchmark {
    private C3poCostBenchmark() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = Flags.parse(args);
        int threads = Integer.parseInt(a.getOrDefault("threads", "1"));
        int items = Integer.parseInt(a.getOrDefault("items", "100"));
        int maxTokens = Integer.parseInt(a.getOrDefault("max-tokens", "12"));
        // any c3po setting as a flag (--algorithm, --k, --steps, ...), read by the method's schema
        Map<String, String> named = new java.util.HashMap<>(a);
        named.keySet().retainAll(C3poSettings.SCHEMA.names());
        C3poSettings settings = C3poSettings.DEFAULTS.withOverrides(StrategySettings.of(named));
        List<String> prompts = Files.readAllLines(Path.of(a.get("bench"))).stream().filter(l -> !l.isBlank())
                .limit(items).map(l -> Results.JSON.readTree(l).get("prompt").asString()).toList();
        try (Model model = Model.load(ModelParams.of(Path.of(a.get("model"))));
             ReferenceSet refs = ReferenceSet.load(Path.of(a.get("reference")), model)) {
            C3poStrategy c3po = new C3poStrategy(refs, new HiddenStateEmbedder(), settings);
            AdaptationStrategy[] arms = {new PlainGeneration(), c3po};
            int sequences = Math.max(arms[0].sequencesNeeded(), arms[1].sequencesNeeded());
            double[][] seconds = new double[2][prompts.size()];
            try (Session session = model.newSession(new SessionParams(512 * sequences, 512, sequences, threads, threads))) {
                for (int i = 0; i < prompts.size(); i++) {
                    GenerationRequest req = new GenerationRequest(model.tokenize(prompts.get(i)), maxTokens, SamplingParams.GREEDY, List.of("\n"), false);
                    for (int k = 0; k < arms.length; k++) {
                        int arm = (i % 2 == 0) ? k : 1 - k; // alternate which arm goes first
                        session.clear();
                        long t0 = System.nanoTime();
                        arms[arm].generate(session, req, TokenListener.NONE, new CancellationToken());
                        seconds[arm][i] = (System.nanoTime() - t0) / 1e9;
                    }
                }
            }
            double plain = Series.mean(seconds[0]), adapted = Series.mean(seconds[1]);
            System.out.printf(Locale.ROOT, """
                    | arm | ms per item (%d items, %d threads) |
                    |---|---|
                    | greedy | %.2f ± %.2f |
                    | C3PO %s | %.2f ± %.2f |
                    | ratio C3PO / greedy | %.2f |
                    """, prompts.size(), threads, 1000 * plain, 1000 * Series.stddev(seconds[0]), settings.algorithm().label(),
                    1000 * adapted, 1000 * Series.stddev(seconds[1]), adapted / plain);
        }
    }
}
