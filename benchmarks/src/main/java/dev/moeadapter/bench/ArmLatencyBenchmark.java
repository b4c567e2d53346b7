package dev.moeadapter.bench;

import dev.moeadapter.c3po.ReferenceSet;
import dev.moeadapter.core.adaptation.AdaptationProvider;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.adaptation.ProviderContext;
import dev.moeadapter.core.adaptation.ResultCache;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.engine.KvLayout;
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

import tools.jackson.databind.JsonNode;

/**
 * Time per generated token and per whole item of adaptation arms against plain greedy, in one run on
 * one session: the arms take turns on every item, which one goes first rotating, so machine noise hits
 * all alike. The time per item is the wall clock around one {@code generate} call, so it holds whatever an
 * arm does before its first token (C3PO's neighbour search and optimisation) and between tokens
 * (rerouting's rounds), however the arm splits it between prefill and decode. Each arm also reports
 * the experts that answered per token and MoE layer (nonzero mixing weights, from a routing trace of
 * one untimed run): a dynamic expert count lowers it.
 * {@code ArmLatencyBenchmark --model F.gguf [--arms "scmoe;steer:top-p=0.5"] [--threads 2] [--prompt 64]
 * [--prompts F.jsonl [--items 8]] [--reference-set F.c3po] [--ctx N] [--kv-layout unified|per-sequence] [--gen 128] [--stop STR]
 * [--reps 6] [--out F.json]}:
 * arms separated by ';', each a plug-in's name and optionally ':' and its settings as name=value
 * separated by ','. Without {@code --prompts} the prompt is {@code --prompt} random tokens; with it,
 * the {@code prompt} fields of the file's first {@code --items} lines (e.g. lab tasks), every item
 * answered by every arm in each repetition. Without {@code --stop} every answer is {@code --gen}
 * tokens long (end of sequence ignored); with it, an answer ends at end of sequence or at
 * {@code STR} ({@code \n} for a newline, the lab's rule) after at most {@code --gen} tokens.
 * {@code --reference-set} loads a C3PO reference set built for this model and hands it to the
 * plug-ins, so that {@code c3po} arms can be built. {@code --kv-layout per-sequence} gives each sequence a KV
 * stream of its own, where a sequence copy (rerouting's and C3PO's) copies a whole stream.
 */
public final class ArmLatencyBenchmark {
    private ArmLatencyBenchmark() {}

    /** One arm: its label as given and its strategy. */
    private record Arm(String label, AdaptationStrategy strategy) {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = Flags.parse(args);
        Path modelPath = Path.of(a.get("model"));
        int threads = Flags.integer(a, "threads", 2);
        int gen = Flags.integer(a, "gen", 128);
        int reps = Flags.integer(a, "reps", 6);

        try (Model model = Model.load(ModelParams.of(modelPath));
             ReferenceSet refs = a.containsKey("reference-set") ? ReferenceSet.load(Path.of(a.get("reference-set")), model) : null) {
            List<int[]> prompts = prompts(a, model);
            int promptLen = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
            List<Arm> arms = new ArrayList<>();
            arms.add(new Arm("greedy", new PlainGeneration()));
            ProviderContext context = refs == null ? ProviderContext.of(model.info(), ResultCache.NONE)
                    : ProviderContext.of(model.info(), ResultCache.NONE, refs);
            for (String spec : a.getOrDefault("arms", "scmoe").split(";")) {
                arms.add(new Arm(spec.strip(), build(spec.strip(), context)));
            }
            int sequences = arms.stream().mapToInt(x -> x.strategy().sequencesNeeded()).max().orElseThrow();
            int ctx = Flags.integer(a, "ctx", sequences * (promptLen + gen) + 64);
            KvLayout layout = Flags.kvLayout(a);
            try (Session session = model.newSession(new SessionParams(ctx, 512, sequences, threads, threads).withKvLayout(layout))) {
                // a fixed answer length, or the harness's rule: stop at end of sequence or at --stop
                List<GenerationRequest> requests = prompts.stream().map(p -> a.containsKey("stop")
                        ? GenerationRequest.greedy(p, gen).withStop(List.of(a.get("stop").replace("\\n", "\n"))).withIgnoreEos(false)
                        : GenerationRequest.greedy(p, gen).withIgnoreEos(true)).toList();
                double[] expertsUsed = new double[arms.size()];
                for (int i = 0; i < arms.size(); i++) {
                    session.setTrace(0, TraceSpec.ROUTES); // untimed: the trace splits the graph
                    arms.get(i).strategy().generate(session, requests.getFirst(), TokenListener.NONE, new CancellationToken());
                    expertsUsed[i] = meanExpertsUsed(session.drainTrace());
                    session.setTrace(0, TraceSpec.OFF);
                }
                // per arm and repetition, means over the items
                double[][] msPerToken = new double[arms.size()][reps];
                double[][] prefillMs = new double[arms.size()][reps];
                double[][] msPerItem = new double[arms.size()][reps];
                double[] tokensPerItem = new double[arms.size()];
                for (int r = 0; r < reps; r++) {
                    for (int q = 0; q < requests.size(); q++) {
                        GenerationRequest request = requests.get(q);
                        for (int k = 0; k < arms.size(); k++) {
                            int i = (k + r + q) % arms.size(); // which arm goes first rotates
                            long t0 = System.nanoTime();
                            GenerationResult res = arms.get(i).strategy().generate(session, request, TokenListener.NONE, new CancellationToken());
                            long wall = System.nanoTime() - t0;
                            msPerToken[i][r] += res.decodeNanos() / 1e6 / res.generatedTokens() / requests.size();
                            prefillMs[i][r] += res.prefillNanos() / 1e6 / requests.size();
                            msPerItem[i][r] += wall / 1e6 / requests.size();
                            tokensPerItem[i] += (double) res.generatedTokens() / requests.size() / reps;
                        }
                    }
                }
                StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
                        "| arm | ms per item | ratio to greedy | ms per generated token | ratio to greedy | prefill ms | generated tokens per item | experts per token and layer |%n"
                                + "|---|---:|---:|---:|---:|---:|---:|---:|%n"));
                double greedyItem = Series.mean(msPerItem[0]);
                double greedyToken = Series.mean(msPerToken[0]);
                for (int i = 0; i < arms.size(); i++) {
                    table.append(String.format(Locale.ROOT, "| %s | %.2f ± %.2f | %.3f | %.2f ± %.2f | %.3f | %.1f ± %.1f | %.1f | %.2f |%n",
                            arms.get(i).label(), Series.mean(msPerItem[i]), Series.stddev(msPerItem[i]), Series.mean(msPerItem[i]) / greedyItem,
                            Series.mean(msPerToken[i]), Series.stddev(msPerToken[i]), Series.mean(msPerToken[i]) / greedyToken,
                            Series.mean(prefillMs[i]), Series.stddev(prefillMs[i]), tokensPerItem[i], expertsUsed[i]));
                }
                System.out.printf(Locale.ROOT, "%d item(s), prompts of up to %d tokens, %s %d generated tokens, %d repetitions, %d thread(s), KV layout %s%n",
                        requests.size(), promptLen, a.containsKey("stop") ? "at most" : "exactly", gen, reps, threads, layout);
                System.out.print(table);
                if (a.containsKey("out")) {
                    Map<String, Object> json = new LinkedHashMap<>();
                    json.put("model", modelPath.getFileName().toString());
                    json.put("threads", threads);
                    json.put("prompts", a.getOrDefault("prompts", "random"));
                    json.put("items", requests.size());
                    json.put("prompt_tokens_max", promptLen);
                    json.put("generated_tokens", gen);
                    json.put("stop", a.getOrDefault("stop", "none (end of sequence ignored)"));
                    json.put("reps", reps);
                    json.put("kv_layout", layout.name().toLowerCase(Locale.ROOT).replace('_', '-'));
                    for (int i = 0; i < arms.size(); i++) {
                        json.put(arms.get(i).label(), Map.of("ms_per_item", msPerItem[i], "ms_per_token", msPerToken[i], "generated_tokens_per_item", tokensPerItem[i],
                                "prefill_ms", prefillMs[i], "experts_per_token_and_layer", expertsUsed[i]));
                    }
                    Files.createDirectories(Path.of(a.get("out")).toAbsolutePath().getParent());
                    Results.JSON.writeValue(Path.of(a.get("out")).toFile(), json);
                }
            }
        }
    }

    /** The {@code prompt} fields of the first {@code --items} lines of {@code --prompts}, or {@code --prompt} random tokens. */
    private static List<int[]> prompts(Map<String, String> a, Model model) throws java.io.IOException {
        if (!a.containsKey("prompts")) {
            int promptLen = Flags.integer(a, "prompt", 64);
            Random rnd = new Random(42);
            int[] prompt = new int[promptLen];
            for (int i = 0; i < promptLen; i++) {
                prompt[i] = 3 + rnd.nextInt(model.info().vocabSize() - 3);
            }
            return List.of(prompt);
        }
        int items = Flags.integer(a, "items", 8);
        List<int[]> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(a.get("prompts")))) {
            if (out.size() == items) {
                break;
            }
            if (line.isBlank()) {
                continue;
            }
            JsonNode prompt = Results.JSON.readTree(line).get("prompt");
            if (prompt == null || !prompt.isString()) {
                throw new IllegalArgumentException(a.get("prompts") + ": a line without a text 'prompt' field: " + line);
            }
            out.add(model.tokenize(prompt.asString()));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(a.get("prompts") + " has no prompts");
        }
        return out;
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

    /** Experts that answered, per traced token and MoE layer. */
    private static double meanExpertsUsed(RouterTrace t) {
        return t.routes().stream().mapToInt(TokenRoute::answering).average().orElse(Double.NaN);
    }
}
