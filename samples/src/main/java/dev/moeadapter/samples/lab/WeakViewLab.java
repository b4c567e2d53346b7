package dev.moeadapter.samples.lab;

import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.samples.cli.Cli;
import dev.moeadapter.samples.eval.BenchmarkFile;
import dev.moeadapter.samples.eval.BenchmarkItem;
import dev.moeadapter.samples.eval.EvalCommand;
import dev.moeadapter.samples.eval.EvalRunner;
import dev.moeadapter.samples.eval.Scorer;
import dev.moeadapter.scmoe.ScmoeSettings;
import dev.moeadapter.scmoe.ScmoeStrategy;
import dev.moeadapter.scmoe.WeakRouting;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How weak SCMoE's weak view is on a model. SCMoE subtracts the weak view's logits from the strong view's; that helps
 * where the weak view makes the strong view's mistakes more strongly, and hurts where it knows the right token too.
 * Per item of a split: greedy answers under the model's routing (the strong view), under the weak routing alone, and
 * under SCMoE; where SCMoE turns a right answer wrong, whether the weak view's own greedy token at the first position
 * where the two answers part (after the right answer's prefix) is the right one.
 *
 * <p>{@code ./moe lab weak --model F.gguf --bench S.jsonl [--weak rank:2] [--limit N]}
 */
public final class WeakViewLab {
    private static final int MAX_TOKENS = 16;

    private WeakViewLab() {
    }

    public static void main(String[] args) throws Exception {
        Cli.run("lab weak", null, () -> {
            Map<String, String> a = EvalCommand.parse(args);
            Path gguf = Path.of(EvalCommand.require(a, "model"));
            Path bench = Path.of(EvalCommand.require(a, "bench"));
            List<BenchmarkItem> all = BenchmarkFile.read(bench);
            List<BenchmarkItem> items = all.subList(0, Math.min(all.size(), Integer.parseInt(a.getOrDefault("limit", "400"))));
            ScmoeSettings settings = a.containsKey("weak")
                    ? ScmoeSettings.DEFAULTS.withOverrides(StrategySettings.of(Map.of("weak", a.get("weak"))))
                    : ScmoeSettings.DEFAULTS;
            try (Model model = Model.load(ModelParams.of(gguf));
                 Session session = model.newSession(new SessionParams(256, 256, 2, 1, 1))) {
                Counts c = measure(model, session, items, settings);
                System.out.printf(Locale.ROOT, """
                        %s on %s, %d items, weak view %s (SCMoE alpha %.2f, beta %.2f):
                          right: model's routing %d, weak view alone %d, SCMoE %d
                          the weak view alone gives the model's answer on %d, its first answer token on %d
                          SCMoE right->wrong %d: where the answers part, the weak view alone picks the right token on %d
                          SCMoE wrong->right %d: where the answers part, the weak view alone picks the right token on %d
                          (of the changed answers, %d part where the right one ends and the wrong one goes on: no token compared)
                        """, gguf.getFileName(), bench.getFileName(), c.items(), settings.weak().label(), settings.alpha(), settings.beta(),
                        c.strongRight(), c.weakRight(), c.scmoeRight(), c.sameAnswer(), c.sameFirstToken(), c.broken(), c.brokenWeakKnows(),
                        c.fixed(), c.fixedWeakKnows(), c.partAtEnd());
            }
        });
    }

    /** What {@link #measure} counts over a split's items. */
    record Counts(int items, int strongRight, int weakRight, int scmoeRight, int sameAnswer, int sameFirstToken,
                  int broken, int brokenWeakKnows, int fixed, int fixedWeakKnows, int partAtEnd) {
    }

    /** Greedy answers under the strong view, the weak view alone and SCMoE, on a session of two sequences. */
    static Counts measure(Model model, Session session, List<BenchmarkItem> items, ScmoeSettings settings) {
        RoutingPlan weak = settings.weak().plan(model.info());
        ScmoeStrategy scmoe = new ScmoeStrategy(settings);
        int strongRight = 0, weakRight = 0, scmoeRight = 0, sameAnswer = 0, sameFirst = 0;
        int broken = 0, fixed = 0, brokenWeakKnows = 0, fixedWeakKnows = 0, partAtEnd = 0;
        for (BenchmarkItem it : items) {
            GenerationRequest asked = new GenerationRequest(model.tokenize(it.prompt()), MAX_TOKENS, SamplingParams.GREEDY,
                    EvalRunner.stopStrings(it.scoring()), false);
            String strong = greedy(session, RoutingPlan.EMPTY, asked);
            String alone = greedy(session, weak, asked);
            String contrast = scmoe.generate(session, asked, TokenListener.NONE, new CancellationToken()).text();
            boolean s = Scorer.correct(it.scoring(), strong), w = Scorer.correct(it.scoring(), alone), c = Scorer.correct(it.scoring(), contrast);
            strongRight += s ? 1 : 0;
            weakRight += w ? 1 : 0;
            scmoeRight += c ? 1 : 0;
            sameAnswer += strong.equals(alone) ? 1 : 0;
            sameFirst += !strong.isEmpty() && !alone.isEmpty() && strong.charAt(0) == alone.charAt(0) ? 1 : 0;
            if (s == c) continue;
            if (s) broken++;
            else fixed++;
            // the right answer of the two, and where the other leaves it: does the weak view alone pick the right token there?
            String right = s ? strong : contrast, wrong = s ? contrast : strong;
            int p = 0;
            while (p < right.length() && p < wrong.length() && right.charAt(p) == wrong.charAt(p)) p++;
            if (p == right.length()) {
                partAtEnd++; // the right answer ends where the wrong one goes on: no right token to compare
                continue;
            }
            String next = greedy(session, weak, new GenerationRequest(model.tokenize(it.prompt() + right.substring(0, p)), 1, SamplingParams.GREEDY,
                    List.of(), false));
            if (!next.isEmpty() && next.charAt(0) == right.charAt(p)) {
                if (s) brokenWeakKnows++;
                else fixedWeakKnows++;
            }
        }
        return new Counts(items.size(), strongRight, weakRight, scmoeRight, sameAnswer, sameFirst, broken, brokenWeakKnows, fixed,
                fixedWeakKnows, partAtEnd);
    }

    /** The greedy answer on sequence 0 under {@code plan}. */
    private static String greedy(Session session, RoutingPlan plan, GenerationRequest request) {
        session.setPlan(0, plan);
        try {
            return new Generator(session, 0).generate(request, TokenListener.NONE, new CancellationToken()).text();
        } finally {
            session.setPlan(0, RoutingPlan.EMPTY);
        }
    }
}
