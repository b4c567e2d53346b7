package dev.moeadapter.samples.eval;

import dev.moeadapter.c3po.Embedder;
import dev.moeadapter.c3po.HiddenStateEmbedder;
import dev.moeadapter.c3po.ReferencePathwayOptimiser;
import dev.moeadapter.c3po.ReferenceSetBuilder;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.SettingSpec;
import dev.moeadapter.core.adaptation.SettingSpec.Range;
import dev.moeadapter.core.adaptation.SettingsSchema;
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
import java.util.Optional;
import java.util.Set;

/**
 * {@code c3po-build --model FILE.gguf --bench FILE.jsonl --out FILE.c3po [--max-tokens 32] [--limit N]
 * [--threads N] [--ctx 2048] [--answer-tokens 16] [--progress-every 50] [--embedder ID]
 * [--optimise-failures true [--optimise-steps 20]]}: runs a labelled benchmark (any format
 * {@link BenchmarkFile} reads) through the model greedily, scores each answer as the evaluation
 * harness does, and writes the correctly answered items as a C3PO reference set, embedded by the
 * built-in embedder {@code ID} ({@code model-mean-hidden-state}, the default, or
 * {@code char-3gram-hash-1024}). With {@code --optimise-failures true} it also keeps the items
 * answered wrongly that a pathway fitted to their gold answer makes right ({@link ReferencePathwayOptimiser}).
 */
public final class C3poBuildCommand {
    /** KV cells per sequence at most: times the optimiser's sequences it still fits an int. */
    private static final int MAX_CTX = 1 << 20;

    static final String USAGE = """
            usage: ./moe c3po-build --model FILE.gguf --bench FILE.jsonl --out FILE.c3po
                                    [--max-tokens 32] [--limit N] [--threads N] [--ctx 2048] [--answer-tokens 16]
                                    [--progress-every 50] [--embedder model-mean-hidden-state|char-3gram-hash-1024]
                                    [--optimise-failures true [--optimise-steps 20]]
            --ctx is per sequence (--optimise-failures holds several). See docs/c3po.md.
            """;

    /** The flags besides --model, --bench, --out and --embedder, with their bounds: the one parser of settings reads them. */
    static final SettingsSchema FLAGS = SettingsSchema.of("c3po-build",
            SettingSpec.integer("max-tokens", Range.atLeast(1), 32, "Tokens generated per item at most."),
            SettingSpec.integer("limit", Range.atLeast(0), Integer.MAX_VALUE, "Items read from the start of the benchmark at most."),
            SettingSpec.integer("threads", Range.atLeast(1), Runtime.getRuntime().availableProcessors(), "CPU threads per decode."),
            SettingSpec.integer("ctx", Range.closed(1, MAX_CTX), 2048, "KV cells per sequence of the session."),
            SettingSpec.integer("answer-tokens", Range.closed(1, ReferenceSetBuilder.MAX_ANSWER_TOKENS), 16,
                    "Answer tokens stored per reference (the neighbour loss scores up to this many)."),
            SettingSpec.integer("progress-every", Range.atLeast(1), 50, "Log progress after this many items."),
            SettingSpec.bool("optimise-failures", false,
                    "Also keep the items answered wrongly that a pathway fitted to their gold answer makes right."),
            SettingSpec.integer("optimise-steps", Range.closed(1, ReferencePathwayOptimiser.Settings.MAX_STEPS),
                    ReferencePathwayOptimiser.Settings.DEFAULTS.steps(), "NGD steps per wrongly answered item (with --optimise-failures true)."));
    private static final Set<String> FILES = Set.of("model", "bench", "out", "embedder");

    private C3poBuildCommand() {}

    public static void main(String[] args) throws Exception {
        Cli.run("c3po-build", USAGE, () -> {
            if (args.length == 0 || List.of(args).contains("--help") || List.of(args).contains("-h")) {
                System.out.print(USAGE);
                return;
            }
            run(args);
        });
    }

    /** Builds one reference set; bad arguments are an {@link InvalidRequestException}. */
    public static ReferenceSetBuilder.Outcome run(String[] args) {
        Map<String, String> a = EvalCommand.parse(args);
        Path modelPath = Path.of(EvalCommand.require(a, "model"));
        Path bench = Path.of(EvalCommand.require(a, "bench"));
        Path out = Path.of(EvalCommand.require(a, "out"));
        Embedder embedder = Embedder.builtIn(a.getOrDefault("embedder", HiddenStateEmbedder.ID));
        Map<String, String> flags = new HashMap<>(a);
        flags.keySet().removeAll(FILES);
        SettingsSchema.Values v = FLAGS.parse(StrategySettings.of(flags));
        Optional<ReferencePathwayOptimiser.Settings> optimise = optimisation(v);
        int maxTokens = v.integer("max-tokens", 32);
        int threads = v.integer("threads", Runtime.getRuntime().availableProcessors());
        int answerTokens = v.integer("answer-tokens", 16);
        int progressEvery = v.integer("progress-every", 50);
        int sequences = optimise.map(ReferencePathwayOptimiser.Settings::sequencesNeeded).orElse(1);
        int cells = v.integer("ctx", 2048) * sequences;

        List<BenchmarkItem> items = BenchmarkFile.read(bench);
        if (v.has("limit")) {
            items = items.subList(0, Math.min(items.size(), v.integer("limit", items.size())));
        }
        try (Model model = Model.load(ModelParams.of(modelPath));
             Session session = model.newSession(new SessionParams(cells, 512, sequences, threads, threads))) {
            ReferenceSetBuilder.Outcome o = optimise.isPresent()
                    ? buildOptimisingFailures(model, session, embedder, items, maxTokens, answerTokens, progressEvery, optimise.get(), out)
                    : build(model, session, embedder, items, maxTokens, answerTokens, progressEvery, out);
            if (optimise.isPresent()) {
                System.out.printf("wrote %s: %d of %d items kept, %d answered correctly and %d under an optimised pathway%n", o.file(),
                        o.kept(), o.examined(), o.keptPlain(), o.keptOptimised());
            } else {
                System.out.printf("wrote %s: %d of %d items answered correctly%n", o.file(), o.kept(), o.examined());
            }
            return o;
        }
    }

    /** The optimisation the flags ask for, if any; --optimise-steps alone is refused rather than ignored. */
    static Optional<ReferencePathwayOptimiser.Settings> optimisation(SettingsSchema.Values v) {
        if (!v.bool("optimise-failures", false)) {
            if (v.has("optimise-steps")) {
                throw new InvalidRequestException("--optimise-steps applies with --optimise-failures true only");
            }
            return Optional.empty();
        }
        ReferencePathwayOptimiser.Settings d = ReferencePathwayOptimiser.Settings.DEFAULTS;
        return Optional.of(d.withSteps(v.integer("optimise-steps", d.steps())));
    }

    /** Writes the items {@code model} answers correctly (scored as the harness scores) as a reference set to {@code out}: the paper's recipe. */
    public static ReferenceSetBuilder.Outcome build(Model model, Session session, Embedder embedder, List<BenchmarkItem> items, int maxTokens,
                                                    int answerTokens, int progressEvery, Path out) {
        return new ReferenceSetBuilder(model, session, embedder, answerTokens, progressEvery).build(examples(items, maxTokens), out);
    }

    /**
     * As {@link #build}, and also keeps the items answered wrongly for which {@code optimise} finds a
     * pathway under which they are answered correctly. The session needs at least 2 sequences
     * ({@link ReferencePathwayOptimiser.Settings#sequencesNeeded()} batch each step).
     */
    public static ReferenceSetBuilder.Outcome buildOptimisingFailures(Model model, Session session, Embedder embedder, List<BenchmarkItem> items,
                                                                      int maxTokens, int answerTokens, int progressEvery,
                                                                      ReferencePathwayOptimiser.Settings optimise, Path out) {
        return new ReferenceSetBuilder(model, session, embedder, answerTokens, progressEvery).optimisingFailures(optimise)
                .build(examples(items, maxTokens), out);
    }

    private static List<ReferenceSetBuilder.Example> examples(List<BenchmarkItem> items, int maxTokens) {
        return items.stream()
                .map(item -> new ReferenceSetBuilder.Example(item.id(), item.prompt(), maxTokens, EvalRunner.stopStrings(item.scoring()),
                        text -> Scorer.correct(item.scoring(), text), item.scoring().gold()))
                .toList();
    }
}
