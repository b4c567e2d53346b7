package dev.moeadapter.bench;

import dev.moeadapter.core.adaptation.AdaptationProvider;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.adaptation.ProviderContext;
import dev.moeadapter.core.adaptation.ResultCache;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Time per generated token of adaptation arms against plain greedy, in one run on one session: the
 * arms alternate repetition by repetition so machine noise hits all alike. Each arm also reports
 * the experts that answered per token and MoE layer (nonzero mixing weights, from a routing trace of
 * one untimed run): a dynamic expert count lowers it.
 * {@code ArmLatencyBenchmark --model F.gguf [--arms "scmoe;steer:top-p=0.5"] [--threads 2] [--prompt 64]
 * [--gen 128] [--reps 6] [--out F.json]}: arms separated by ';', each a plug-in's name and optionally
 * ':' and its settings as name=value separated by ','.
 */
public final class ArmLatencyBenchmark {
    private ArmLatencyBenchmark() {}

    /** One arm: its label as given and its strategy. */
    private record Arm(String label, AdaptationStrategy strategy) {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = Flags.parse(args);
        Path modelPath = Path.of(a.get("model"));
        int threads = Integer.parseInt(a.getOrDefault("threads", "2"));
        int promptLen = Integer.parseInt(a.getOrDefault("prompt", "64"));
        int gen = Integer.parseInt(a.getOrDefault("gen", "128"));
        int reps = Integer.parseInt(a.getOrDefault("reps", "6"));

        try (Model model = Model.load(ModelParams.of(modelPath))) {
            List<Arm> arms = new ArrayList<>();
            arms.add(new Arm("greedy", new PlainGeneration()));
            ProviderContext context = ProviderContext.of(model.info(), ResultCache.NONE);
            for (String spec : a.getOrDefault("arms", "scmoe").split(";")) {
                arms.add(new Arm(spec.strip(), build(spec.strip(), context)));
            }
            int sequences = arms.stream().mapToInt(x -> x.strategy().sequencesNeeded()).max().orElseThrow();
            try (Session session = model.newSession(new SessionParams(sequences * (promptLen + gen) + 64, 512, sequences, threads, threads))) {
                Random rnd = new Random(42);
                int[] prompt = new int[promptLen];
                for (int i = 0; i < promptLen; i++) {
                    prompt[i] = 3 + rnd.nextInt(model.info().vocabSize() - 3);
                }
                GenerationRequest request = GenerationRequest.greedy(prompt, gen).withIgnoreEos(true);
                double[] expertsUsed = new double[arms.size()];
                for (int i = 0; i < arms.size(); i++) {
                    session.setTrace(0, TraceSpec.ROUTES); // untimed: the trace splits the graph
                    arms.get(i).strategy().generate(session, request, TokenListener.NONE, new CancellationToken());
                    expertsUsed[i] = meanExpertsUsed(session.drainTrace());
                    session.setTrace(0, TraceSpec.OFF);
                }
                double[][] msPerToken = new double[arms.size()][reps];
                double[][] prefillMs = new double[arms.size()][reps];
                for (int r = 0; r < reps; r++) {
                    for (int i = 0; i < arms.size(); i++) {
                        GenerationResult res = arms.get(i).strategy().generate(session, request, TokenListener.NONE, new CancellationToken());
                        msPerToken[i][r] = res.decodeNanos() / 1e6 / res.generatedTokens();
                        prefillMs[i][r] = res.prefillNanos() / 1e6;
                    }
                }
                StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
                        "| arm | ms per generated token | ratio to greedy | prefill ms (%d tokens) | experts per token and layer |\n|---|---:|---:|---:|---:|\n",
                        promptLen));
                double greedy = Series.mean(msPerToken[0]);
                for (int i = 0; i < arms.size(); i++) {
                    table.append(String.format(Locale.ROOT, "| %s | %.2f ± %.2f | %.3f | %.1f ± %.1f | %.2f |%n", arms.get(i).label(),
                            Series.mean(msPerToken[i]), Series.stddev(msPerToken[i]), Series.mean(msPerToken[i]) / greedy,
                            Series.mean(prefillMs[i]), Series.stddev(prefillMs[i]), expertsUsed[i]));
                }
                System.out.print(table);
                if (a.containsKey("out")) {
                    Map<String, Object> json = new LinkedHashMap<>();
                    json.put("model", modelPath.getFileName().toString());
                    json.put("threads", threads);
                    json.put("prompt_tokens", promptLen);
                    json.put("generated_tokens", gen);
                    json.put("reps", reps);
                    for (int i = 0; i < arms.size(); i++) {
                        json.put(arms.get(i).label(), Map.of("ms_per_token", msPerToken[i], "prefill_ms", prefillMs[i],
                                "experts_per_token_and_layer", expertsUsed[i]));
                    }
                    Files.createDirectories(Path.of(a.get("out")).toAbsolutePath().getParent());
                    Results.JSON.writeValue(Path.of(a.get("out")).toFile(), json);
                }
            }
        }
    }

    /** {@code name[:setting=value,...]} through the plug-in of that name. */
    private static AdaptationStrategy build(String spec, ProviderContext context) {
        int colon = spec.indexOf(':');
        String name = colon < 0 ? spec : spec.substring(0, colon);
        Map<String, Object> settings = new LinkedHashMap<>();
        if (colon >= 0) {
            for (String kv : spec.substring(colon + 1).split(",")) {
                int eq = kv.indexOf('=');
                if (eq < 1) {
                    throw new IllegalArgumentException("arm '" + spec + "': settings are name=value separated by ','");
                }
                settings.put(kv.substring(0, eq).strip(), kv.substring(eq + 1).strip());
            }
        }
        AdaptationProvider provider = AdaptationProvider.named(name)
                .orElseThrow(() -> new IllegalArgumentException("no adaptation '" + name + "'; available: "
                        + AdaptationProvider.all().stream().map(AdaptationProvider::name).toList()));
        AdaptationStrategy s = provider.create(context, StrategySettings.of(settings));
        s.validate(context.model());
        return s;
    }

    /** Experts with a nonzero mixing weight, per traced token and MoE layer. */
    private static double meanExpertsUsed(RouterTrace t) {
        return t.routes().stream().mapToDouble(ArmLatencyBenchmark::used).average().orElse(Double.NaN);
    }

    private static int used(TokenRoute r) {
        int n = 0;
        for (float w : r.weights()) {
            n += w > 0 ? 1 : 0;
        }
        return n;
    }
}
