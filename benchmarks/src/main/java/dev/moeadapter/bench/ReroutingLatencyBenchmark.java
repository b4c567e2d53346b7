package dev.moeadapter.bench;

import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.optim.SpsaGains;
import dev.moeadapter.rerouting.ReroutingDecoding;
import dev.moeadapter.rerouting.ReroutingSettings;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.rerouting.RoundReport;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Wall time per request, continuous rerouting vs plain greedy, in one run on one session: the two
 * arms alternate repetition by repetition so machine noise hits both alike. A request is a prompt
 * and a {@code gen}-token answer (EOS ignored), so rerouting runs its rounds at prefill and every
 * {@code interval} tokens.
 * {@code ReroutingLatencyBenchmark --model F.gguf [--threads 2] [--prompt 64] [--gen 256] [--reps 3]
 * [--steps 5] [--interval 128] [--q 4] [--window 0] (any rerouting setting, docs/settings.md) [--out F.json]}
 */
public final class ReroutingLatencyBenchmark {
    private ReroutingLatencyBenchmark() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = Flags.parse(args);
        Path modelPath = Path.of(a.get("model"));
        int threads = Flags.integer(a, "threads", 2);
        int promptLen = Flags.integer(a, "prompt", 64);
        int gen = Flags.integer(a, "gen", 256);
        int reps = Flags.integer(a, "reps", 3);
        // any rerouting setting as a flag (--steps, --interval, --window, --q, ...), read by the method's schema
        Map<String, String> named = new java.util.HashMap<>(a);
        named.keySet().retainAll(ReroutingSettings.SCHEMA.names());
        ReroutingSettings settings = ReroutingSettings.DEFAULTS.withOverrides(StrategySettings.of(named));
        int sequences = settings.sequencesNeeded();

        try (Model model = Model.load(ModelParams.of(modelPath));
             Session session = model.newSession(new SessionParams(sequences * (promptLen + gen) + 64, 512, sequences, threads, threads))) {
            Random rnd = new Random(42);
            int[] prompt = new int[promptLen];
            for (int i = 0; i < promptLen; i++) {
                prompt[i] = 3 + rnd.nextInt(model.info().vocabSize() - 3);
            }
            GenerationRequest request = GenerationRequest.greedy(prompt, gen).withIgnoreEos(true);
            GenerationRequest warmup = GenerationRequest.greedy(prompt, 8).withIgnoreEos(true);
            new PlainGeneration().generate(session, warmup, TokenListener.NONE, new CancellationToken());
            rerouted(session, settings, warmup);
            double[] plainMs = new double[reps], reroutedMs = new double[reps], roundMs = new double[reps];
            int rounds = 0;
            for (int r = 0; r < reps; r++) {
                long t0 = System.nanoTime();
                new PlainGeneration().generate(session, request, TokenListener.NONE, new CancellationToken());
                long t1 = System.nanoTime();
                ReroutingDecoding scheme = rerouted(session, settings, request);
                long t2 = System.nanoTime();
                plainMs[r] = (t1 - t0) / 1e6;
                reroutedMs[r] = (t2 - t1) / 1e6;
                roundMs[r] = scheme.rounds().stream().mapToLong(RoundReport::nanos).sum() / 1e6;
                rounds = scheme.rounds().size();
            }
            double plain = Series.mean(plainMs), rerouting = Series.mean(reroutedMs);
            SpsaGains spsa = settings.gains();
            String table = String.format(Locale.ROOT, """
                    | arm | ms per request (%d-token prompt, %d-token answer) | of which optimisation rounds |
                    |---|---|---|
                    | greedy | %.1f ± %.1f | |
                    | rerouting (%d rounds x %d steps, q %d, %s, window %s) | %.1f ± %.1f | %.1f ± %.1f |
                    | ratio rerouting / greedy | %.3f | |
                    """, promptLen, gen, plain, Series.stddev(plainMs), rounds, settings.steps(), spsa.directions(),
                    settings.parameterisation(), settings.window() == 0 ? "all" : settings.window(), rerouting, Series.stddev(reroutedMs), Series.mean(roundMs), Series.stddev(roundMs),
                    rerouting / plain);
            System.out.print(table);
            if (a.containsKey("out")) {
                Map<String, Object> json = new LinkedHashMap<>();
                json.put("model", modelPath.getFileName().toString());
                json.put("threads", threads);
                json.put("prompt_tokens", promptLen);
                json.put("generated_tokens", gen);
                json.put("reps", reps);
                json.put("settings", settings.toString());
                json.put("greedy_ms_per_request", plainMs);
                json.put("rerouting_ms_per_request", reroutedMs);
                json.put("rerouting_round_ms", roundMs);
                json.put("ratio", rerouting / plain);
                Files.createDirectories(Path.of(a.get("out")).toAbsolutePath().getParent());
                Results.JSON.writeValue(Path.of(a.get("out")).toFile(), json);
            }
        }
    }

    /** What ReroutingStrategy does, keeping the scheme to read its rounds. */
    private static ReroutingDecoding rerouted(Session session, ReroutingSettings settings, GenerationRequest request) {
        CancellationToken cancel = new CancellationToken();
        ReroutingDecoding scheme = new ReroutingDecoding(session, settings, cancel);
        try {
            new Generator(session, scheme).generate(request, TokenListener.NONE, cancel);
            return scheme;
        } finally {
            scheme.release();
        }
    }
}
