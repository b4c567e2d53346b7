package dev.moeadapter.samples.eval;

import dev.moeadapter.c3po.Embedder;
import dev.moeadapter.c3po.HiddenStateEmbedder;
import dev.moeadapter.c3po.ReferenceSetBuilder;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code c3po-build --model FILE.gguf --bench FILE.jsonl --out FILE.c3po [--max-tokens 32] [--limit N]
 * [--threads N] [--ctx 2048] [--answer-tokens 16] [--progress-every 50] [--embedder ID]}: runs a labelled benchmark
 * (any format {@link BenchmarkFile} reads) through the model greedily, scores each answer as the
 * evaluation harness does, and writes the correctly answered items as a C3PO reference set, embedded
 * by the built-in embedder {@code ID} ({@code model-mean-hidden-state}, the default, or
 * {@code char-3gram-hash-1024}).
 */
public final class C3poBuildCommand {
    private C3poBuildCommand() {}

    public static void main(String[] args) {
        Map<String, String> a = EvalCommand.parse(args);
        Path modelPath = Path.of(EvalCommand.require(a, "model"));
        Path bench = Path.of(EvalCommand.require(a, "bench"));
        Path out = Path.of(EvalCommand.require(a, "out"));
        int maxTokens = Integer.parseInt(a.getOrDefault("max-tokens", "32"));
        int threads = Integer.parseInt(a.getOrDefault("threads", String.valueOf(Runtime.getRuntime().availableProcessors())));
        int ctx = Integer.parseInt(a.getOrDefault("ctx", "2048"));
        int answerTokens = Integer.parseInt(a.getOrDefault("answer-tokens", "16"));
        int progressEvery = Integer.parseInt(a.getOrDefault("progress-every", "50"));
        Embedder embedder = Embedder.builtIn(a.getOrDefault("embedder", HiddenStateEmbedder.ID));

        List<BenchmarkItem> items = BenchmarkFile.read(bench);
        if (a.containsKey("limit")) {
            items = items.subList(0, Math.min(items.size(), Integer.parseInt(a.get("limit"))));
        }
        try (Model model = Model.load(ModelParams.of(modelPath));
             Session session = model.newSession(new SessionParams(ctx, 512, 1, threads, threads))) {
            ReferenceSetBuilder.Outcome o = build(model, session, embedder, items, maxTokens, answerTokens, progressEvery, out);
            System.out.printf("wrote %s: %d of %d items answered correctly%n", o.file(), o.kept(), o.examined());
        }
    }

    /** Writes the items {@code model} answers correctly (scored as the harness scores) as a reference set to {@code out}. */
    public static ReferenceSetBuilder.Outcome build(Model model, Session session, Embedder embedder, List<BenchmarkItem> items, int maxTokens,
                                                    int answerTokens, int progressEvery, Path out) {
        List<ReferenceSetBuilder.Example> examples = items.stream()
                .map(item -> new ReferenceSetBuilder.Example(item.id(), item.prompt(), maxTokens, EvalRunner.stopStrings(item.scoring()),
                        text -> Scorer.correct(item.scoring(), text)))
                .toList();
        return new ReferenceSetBuilder(model, session, embedder, answerTokens, progressEvery).build(examples, out);
    }
}
