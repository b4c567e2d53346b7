package dev.moeadapter.samples.eval;

import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.scmoe.ScmoeStrategy;
import dev.moeadapter.serving.routing.RoutingProbe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs benchmark items through one adaptation strategy, greedily, and records correctness, time,
 * expert usage (from router traces of the answering sequence) and how far routing moved from the
 * model's own routing on the same tokens ({@link RoutingProbe}: the service's measure).
 */
public final class EvalRunner {
    private static final Logger LOG = LoggerFactory.getLogger(EvalRunner.class);

    private final Model model;
    private final Session session;
    private final AdaptationStrategy strategy;
    private final int maxTokens;
    private final long[][] usage;
    private final Map<String, long[][]> usageByTask = new HashMap<>();

    public EvalRunner(Model model, Session session, AdaptationStrategy strategy, int maxTokens) {
        this.model = model;
        this.session = session;
        this.strategy = strategy;
        this.maxTokens = maxTokens;
        this.usage = new long[model.info().layers()][Math.max(1, model.info().experts())];
    }

    public List<ItemResult> run(List<BenchmarkItem> items) {
        List<ItemResult> results = new ArrayList<>(items.size());
        long started = System.nanoTime();
        int correct = 0;
        for (int i = 0; i < items.size(); i++) {
            ItemResult r = runOne(items.get(i));
            results.add(r);
            correct += r.correct() ? 1 : 0;
            if ((i + 1) % Math.max(1, items.size() / 20) == 0 || i + 1 == items.size()) {
                double elapsed = (System.nanoTime() - started) / 1e9;
                LOG.info("[{}] {}/{} items, accuracy {}, {} s/item, about {} s left", strategy.name(), i + 1, items.size(),
                        Proportion.of(correct, i + 1), String.format("%.2f", elapsed / (i + 1)),
                        String.format("%.0f", elapsed / (i + 1) * (items.size() - i - 1)));
            }
        }
        return results;
    }

    /** Where an answer ends: a blank line or the next question for GSM8K-style items, the end of the line otherwise. */
    public static List<String> stopStrings(BenchmarkItem.Scoring scoring) {
        return scoring instanceof BenchmarkItem.FinalNumber ? List.of("\n\n", "Question:") : List.of("\n");
    }

    /** Selections per layer and expert over every traced token (MoE layers only), in all and per task. */
    public ExpertUsage expertUsage() {
        Map<String, long[][]> byTask = new HashMap<>();
        usageByTask.forEach((task, u) -> byTask.put(task, copy(u)));
        return ExpertUsage.of(model.info().expertsUsed(), copy(usage), byTask);
    }

    private static long[][] copy(long[][] a) {
        return Arrays.stream(a).map(long[]::clone).toArray(long[][]::new);
    }

    private ItemResult runOne(BenchmarkItem item) {
        int[] prompt = model.tokenize(item.prompt());
        GenerationRequest request = new GenerationRequest(prompt, maxTokens, SamplingParams.GREEDY, stopStrings(item.scoring()), false);
        // the service's measure of routing shift, with the answering sequence's routes besides for expert usage
        RoutingProbe probe = RoutingProbe.startWithRoutes(session, strategy.routingViews(), prompt.length, 0);
        long t0 = System.nanoTime();
        GenerationResult g;
        RoutingProbe.Measurement measured;
        try {
            g = strategy.generate(session, request, TokenListener.NONE, new CancellationToken());
            measured = probe.measure(prompt, g.tokens(), g.finishReason());
        } finally {
            probe.stop();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        // a strategy that re-decodes its context (rerouting's KV rebuild) traces a position again:
        // each (position, layer) counts once, with the routing of its last decode — the one the answer used
        Map<Long, TokenRoute> last = new LinkedHashMap<>();
        measured.trace().routes().stream().filter(r -> r.sequence() == 0).forEach(r -> last.put(key(r), r));
        long[][] taskUsage = usageByTask.computeIfAbsent(item.task(), t -> new long[usage.length][usage[0].length]);
        for (TokenRoute r : last.values()) {
            for (int e : r.experts()) {
                usage[r.layer()][e]++;
                taskUsage[r.layer()][e]++;
            }
        }
        double shift = measured.summary() == null || !model.info().isMoe() ? Double.NaN : measured.summary().mean();
        boolean ok = Scorer.correct(item.scoring(), g.text());
        Boolean inMask = null;
        if (strategy instanceof ScmoeStrategy scmoe) {
            // the strong view alone is the base model: where it fails, can the contrast reach the gold answer at all?
            GenerationResult base = new PlainGeneration().generate(session, request, TokenListener.NONE, new CancellationToken());
            if (!Scorer.correct(item.scoring(), base.text())) {
                inMask = MaskReach.goldInsideMask(model, session, item.prompt(), item.scoring().gold(), scmoe.settings().alpha());
            }
        }
        return new ItemResult(item.id(), item.task(), ok, item.scoring().gold(), Scorer.extract(item.scoring(), g.text()),
                g.text(), prompt.length, g.generatedTokens(), seconds, shift, inMask);
    }

    private static long key(TokenRoute r) {
        return ((long) r.position() << 16) | r.layer();
    }
}
