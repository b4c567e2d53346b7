package dev.moeadapter.samples.eval;

import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingDistance;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.scmoe.ScmoeStrategy;
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
 * model's own routing on the same tokens.
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
        boolean moe = model.info().isMoe();
        if (moe) {
            session.setTrace(0, TraceSpec.ROUTES);
            session.drainTrace();
        }
        GenerationRequest request = new GenerationRequest(prompt, maxTokens, SamplingParams.GREEDY, stopStrings(item.scoring()), false);
        long t0 = System.nanoTime();
        GenerationResult g = strategy.generate(session, request, TokenListener.NONE, new CancellationToken());
        double seconds = (System.nanoTime() - t0) / 1e9;
        double shift = Double.NaN;
        if (moe) {
            // a strategy that re-decodes its context (rerouting's KV rebuild) traces a position again:
            // each (position, layer) counts once, with the routing of its last decode — the one the answer used
            Map<Long, TokenRoute> last = new LinkedHashMap<>();
            session.drainTrace().routes().stream().filter(r -> r.sequence() == 0).forEach(r -> last.put(key(r), r));
            List<TokenRoute> routes = List.copyOf(last.values());
            long[][] taskUsage = usageByTask.computeIfAbsent(item.task(), t -> new long[usage.length][usage[0].length]);
            for (TokenRoute r : routes) {
                for (int e : r.experts()) {
                    usage[r.layer()][e]++;
                    taskUsage[r.layer()][e]++;
                }
            }
            shift = "none".equals(strategy.name()) ? 0.0 : shiftFromBase(prompt, g.tokens(), routes);
            session.setTrace(0, TraceSpec.OFF);
        }
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

    /**
     * Mean total-variation distance between the mixing weights the strategy used and the model's
     * own routing, over every (position, layer) both traced.
     */
    private double shiftFromBase(int[] prompt, int[] generated, List<TokenRoute> adapted) {
        int[] all = Arrays.copyOf(prompt, prompt.length + generated.length);
        System.arraycopy(generated, 0, all, prompt.length, generated.length);
        session.setPlan(0, RoutingPlan.EMPTY);
        session.clearSequence(0);
        session.setTrace(0, TraceSpec.ROUTES);
        for (int start = 0; start < all.length; start += session.batchSize()) {
            int end = Math.min(all.length, start + session.batchSize());
            session.decode(Batch.allOutputs(0, start, Arrays.copyOfRange(all, start, end)));
        }
        RouterTrace base = session.drainTrace();
        Map<Long, TokenRoute> byKey = new HashMap<>();
        base.routes().forEach(r -> byKey.put(key(r), r));
        double sum = 0;
        int n = 0;
        for (TokenRoute a : adapted) {
            TokenRoute b = byKey.get(key(a));
            if (b == null) {
                continue;
            }
            sum += RoutingDistance.totalVariation(a, b);
            n++;
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    private static long key(TokenRoute r) {
        return ((long) r.position() << 16) | r.layer();
    }
}
