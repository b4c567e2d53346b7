package dev.moeadapter.bench;

import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.scmoe.ScmoeSettings;
import dev.moeadapter.scmoe.ScmoeStrategy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Time per generated token, SCMoE vs plain greedy, in one run on one session: the two arms
 * alternate repetition by repetition so machine noise hits both alike.
 * {@code ScmoeLatencyBenchmark --model F.gguf [--threads 2] [--prompt 64] [--gen 128] [--reps 6] [--out F.json]}
 */
public final class ScmoeLatencyBenchmark {
    private ScmoeLatencyBenchmark() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = Flags.parse(args);
        Path modelPath = Path.of(a.get("model"));
        int threads = Integer.parseInt(a.getOrDefault("threads", "2"));
        int promptLen = Integer.parseInt(a.getOrDefault("prompt", "64"));
        int gen = Integer.parseInt(a.getOrDefault("gen", "128"));
        int reps = Integer.parseInt(a.getOrDefault("reps", "6"));

        try (Model model = Model.load(ModelParams.of(modelPath));
             Session session = model.newSession(new SessionParams(2 * (promptLen + gen) + 64, 512, 2, threads, threads))) {
            Random rnd = new Random(42);
            int[] prompt = new int[promptLen];
            for (int i = 0; i < promptLen; i++) {
                prompt[i] = 3 + rnd.nextInt(model.info().vocabSize() - 3);
            }
            GenerationRequest request = GenerationRequest.greedy(prompt, gen).withIgnoreEos(true);
            AdaptationStrategy[] arms = {new PlainGeneration(), new ScmoeStrategy(ScmoeSettings.DEFAULTS)};
            for (AdaptationStrategy arm : arms) {
                arm.generate(session, GenerationRequest.greedy(prompt, 8).withIgnoreEos(true), TokenListener.NONE, new CancellationToken());
            }
            double[][] msPerToken = new double[2][reps];
            double[][] prefillMs = new double[2][reps];
            for (int r = 0; r < reps; r++) {
                for (int i = 0; i < arms.length; i++) {
                    GenerationResult res = arms[i].generate(session, request, TokenListener.NONE, new CancellationToken());
                    msPerToken[i][r] = res.decodeNanos() / 1e6 / res.generatedTokens();
                    prefillMs[i][r] = res.prefillNanos() / 1e6;
                }
            }
            double greedy = Series.mean(msPerToken[0]), scmoe = Series.mean(msPerToken[1]);
            String table = String.format(Locale.ROOT, """
                    | arm | ms per generated token | prefill ms (%d tokens) |
                    |---|---|---|
                    | greedy | %.2f ± %.2f | %.1f ± %.1f |
                    | SCMoE (rank-2, β 0.5, strong + weak in one batch) | %.2f ± %.2f | %.1f ± %.1f |
                    | ratio SCMoE / greedy | %.3f | %.3f |
                    """, promptLen, greedy, Series.stddev(msPerToken[0]), Series.mean(prefillMs[0]), Series.stddev(prefillMs[0]),
                    scmoe, Series.stddev(msPerToken[1]), Series.mean(prefillMs[1]), Series.stddev(prefillMs[1]), scmoe / greedy, Series.mean(prefillMs[1]) / Series.mean(prefillMs[0]));
            System.out.print(table);
            if (a.containsKey("out")) {
                Map<String, Object> json = new LinkedHashMap<>();
                json.put("model", modelPath.getFileName().toString());
                json.put("threads", threads);
                json.put("prompt_tokens", promptLen);
                json.put("generated_tokens", gen);
                json.put("reps", reps);
                json.put("greedy_ms_per_token", msPerToken[0]);
                json.put("scmoe_ms_per_token", msPerToken[1]);
                json.put("ratio", scmoe / greedy);
                Files.createDirectories(Path.of(a.get("out")).toAbsolutePath().getParent());
                Results.JSON.writeValue(Path.of(a.get("out")).toFile(), json);
            }
        }
    }
}
