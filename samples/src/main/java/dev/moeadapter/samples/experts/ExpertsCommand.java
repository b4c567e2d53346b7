package dev.moeadapter.samples.experts;

import dev.moeadapter.samples.cli.Cli;
import dev.moeadapter.steering.SteeringFile;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.samples.eval.BenchmarkFile;
import dev.moeadapter.samples.eval.BenchmarkItem;
import dev.moeadapter.samples.eval.EvalCommand;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code experts profile --model F.gguf --a A.jsonl --b B.jsonl [--a-task T] [--b-task U] [--out DIR]
 * [--per-layer N] [--min-difference D] [--limit N] [--ctx N] [--threads N]}: profiles the experts the
 * prompts of A and B reach (benchmark files as the evaluation harness reads them; {@code --a-task}
 * keeps A's items of one task) and writes to DIR (default {@code experts-profile}):
 * {@code profile.tsv} (per layer and expert: rates in A and B, risk difference, nPMI),
 * {@code steering.tsv} (a {@link SteeringFile} toward A: per layer the {@code --per-layer}
 * experts, default the model's top-k, whose risk difference is at least {@code --min-difference},
 * default 0.05, promoted, and as many of B's suppressed) and {@code heatmap.html}.
 */
public final class ExpertsCommand {
    static final String USAGE = "usage: ./moe experts profile --model F.gguf --a A.jsonl --b B.jsonl [--a-task T] [--b-task U] [--out DIR]"
            + " [--per-layer N] [--min-difference D] [--limit N] [--ctx N] [--threads N]";

    private ExpertsCommand() {
    }

    public static void main(String[] args) throws Exception {
        Cli.run("experts", USAGE, () -> {
            if (args.length == 0 || !args[0].equals("profile")) {
                System.err.println(USAGE);
                System.exit(2);
            }
            Outcome o = profile(EvalCommand.parse(Arrays.copyOfRange(args, 1, args.length)));
            System.out.print(o.summary());
            System.out.printf("wrote %s, %s and %s%n", o.dir().resolve("profile.tsv"), o.dir().resolve("steering.tsv"), o.dir().resolve("heatmap.html"));
        });
    }

    /** What a run produced. */
    record Outcome(Path dir, ExpertProfile profile, List<SteeringFile.Entry> steering, String summary) {
    }

    static Outcome profile(Map<String, String> a) {
        Path modelPath = Path.of(EvalCommand.require(a, "model"));
        Path out = Path.of(a.getOrDefault("out", "experts-profile"));
        List<String> promptsA = prompts(Path.of(EvalCommand.require(a, "a")), a.get("a-task"), a.get("limit"));
        List<String> promptsB = prompts(Path.of(EvalCommand.require(a, "b")), a.get("b-task"), a.get("limit"));
        int ctx = Integer.parseInt(a.getOrDefault("ctx", "2048"));
        int threads = Integer.parseInt(a.getOrDefault("threads", String.valueOf(Runtime.getRuntime().availableProcessors())));
        double minDifference = Double.parseDouble(a.getOrDefault("min-difference", "0.05"));
        String nameA = name(a, "a"), nameB = name(a, "b");
        try (Model model = Model.load(ModelParams.of(modelPath));
             Session session = model.newSession(new SessionParams(ctx, 512, 1, threads, threads))) {
            ExpertProfile p = new ExpertProfiler(model, session).profile(promptsA, promptsB);
            int perLayer = Integer.parseInt(a.getOrDefault("per-layer", String.valueOf(model.info().expertsUsed())));
            List<SteeringFile.Entry> steering = p.steering(perLayer, minDifference);
            Files.createDirectories(out);
            Files.writeString(out.resolve("profile.tsv"), p.tsv(), StandardCharsets.UTF_8);
            SteeringFile.write(out.resolve("steering.tsv"), String.format(Locale.ROOT,
                    "toward A = %s, away from B = %s; model %s; per layer the %d experts with the largest |risk difference| >= %.3f",
                    nameA, nameB, modelPath.getFileName(), perLayer, minDifference), steering);
            Files.writeString(out.resolve("heatmap.html"), ProfileHtml.render(p, nameA, nameB, steering), StandardCharsets.UTF_8);
            return new Outcome(out, p, steering, summary(p, promptsA.size(), promptsB.size(), steering));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write to " + out, e);
        }
    }

    private static String name(Map<String, String> a, String set) {
        String file = Path.of(a.get(set)).getFileName().toString();
        return a.containsKey(set + "-task") ? file + " (task " + a.get(set + "-task") + ")" : file;
    }

    private static List<String> prompts(Path file, String task, String limit) {
        List<BenchmarkItem> items = BenchmarkFile.read(file);
        List<String> prompts = items.stream().filter(i -> task == null || task.equals(i.task())).map(BenchmarkItem::prompt)
                .limit(limit == null ? Long.MAX_VALUE : Long.parseLong(limit)).toList();
        if (prompts.isEmpty()) {
            throw new InvalidRequestException(file.getFileName() + " has no items" + (task == null ? "" : " of task '" + task + "'"));
        }
        return prompts;
    }

    private static String summary(ExpertProfile p, int a, int b, List<SteeringFile.Entry> steering) {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%d prompts in A (%d tokens), %d in B (%d tokens)%n", a,
                p.tokensA()[0], b, p.tokensB()[0]));
        for (int slot = 0; slot < p.layers().size(); slot++) {
            int top = 0, bottom = 0;
            for (int e = 1; e < p.experts(); e++) {
                top = p.riskDifference(slot, e) > p.riskDifference(slot, top) ? e : top;
                bottom = p.riskDifference(slot, e) < p.riskDifference(slot, bottom) ? e : bottom;
            }
            s.append(String.format(Locale.ROOT, "  layer %2d: most A-linked expert %d (RD %+.3f, nPMI %+.3f), most B-linked %d (RD %+.3f)%n",
                    p.layers().get(slot), top, p.riskDifference(slot, top), p.npmi(slot, top), bottom, p.riskDifference(slot, bottom)));
        }
        return s.append(steering.size()).append(" steering entries\n").toString();
    }
}
