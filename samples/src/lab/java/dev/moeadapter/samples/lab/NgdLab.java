package dev.moeadapter.samples.lab;

import ai.djl.ndarray.NDManager;
import dev.moeadapter.c3po.Adaptation;
import dev.moeadapter.c3po.Algorithm;
import dev.moeadapter.c3po.C3poSettings;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.c3po.C3poStrategy;
import dev.moeadapter.c3po.CriticalRegion;
import dev.moeadapter.c3po.Embedder;
import dev.moeadapter.c3po.PromptProbe;
import dev.moeadapter.c3po.ReferenceSet;
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
import dev.moeadapter.samples.eval.EvalCommand;
import dev.moeadapter.samples.lab.LabSuiteV2.Split;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static dev.moeadapter.core.optim.Vectors.cosine;

/**
 * C3PO's neighbourhood gradient descent two ways, on the same neighbours, critical region and
 * parameters θ (the core experts' log-probabilities): ours (zeroth order through llama.cpp, as
 * {@link C3poStrategy} runs it) and the exact gradient of the same surrogate in the twin (plain
 * gradient descent, the same number of steps; the paper's NGD code is not released). Per item and
 * on average: the surrogate at ω0 in the twin and through llama.cpp (a parity check), the final
 * surrogate of each, the cosine between the two moves, and whether their greedy answers agree.
 *
 * <p>Moves are compared as log ω − log ω0 over the core experts, centred per layer: θ is defined
 * up to a constant per layer (ω = core mass · softmax(θ_l)), which the exact gradient never moves.
 *
 * <p>{@code NgdLab --model F.gguf --reference R.c3po --split dev [--limit 40] [--inject from-last|last] [--lr 1] [--tasks strings|ciphers|tables|chains]}
 */
public final class NgdLab {
    private static final int ANSWER = 0, PROBE = 1;

    /** One item's figures; losses are C3PO's neighbour loss, answers greedy through llama.cpp. */
    record Comparison(String id, double twinBase, double engineBase, double oursEngine, double oursTwin, double exactTwin,
                      double cosine, String base, String ours, String exact) {}

    private final Model model;
    private final Session session;
    private final MoeTwin twin;
    private final ReferenceSet refs;
    private final C3poSettings settings;
    private final C3poStrategy strategy;
    private final float lr;

    NgdLab(Model model, Session session, MoeTwin twin, ReferenceSet refs, C3poSettings settings, float lr) {
        this.model = model;
        this.session = session;
        this.twin = twin;
        this.refs = refs;
        this.settings = settings;
        this.strategy = new C3poStrategy(refs, Embedder.builtIn(refs.header().embedderId()), settings);
        this.lr = lr;
    }

    /** A session large enough for the strategy's batched candidates. */
    static Session session(Model model, C3poSettings settings) {
        int sequences = settings.sequencesNeeded();
        return model.newSession(new SessionParams(256 * sequences, 256, sequences, 1, 1));
    }

    /** Both descents on one prompt; null when C3PO keeps the base routing (no usable neighbours). */
    Comparison compare(LabItem item, NDManager root) {
        int[] prompt = model.tokenize(item.prompt());
        CancellationToken cancel = new CancellationToken();
        Adaptation ours = strategy.adapt(session, prompt, cancel);
        if (!ours.adapted()) {
            return null;
        }
        // the probe is deterministic: the same ω0, hence the same critical region, as the strategy's own
        PromptProbe.Result probe = PromptProbe.run(session, PROBE, prompt, false, cancel);
        session.clearSequence(PROBE);
        CriticalRegion region = CriticalRegion.of(refs.header().moeLayers(), refs.header().experts(), probe.pathway(),
                settings.criticalLayers(), settings.coreExperts());
        float[][] oursOmega = ours.pathway();
        requireSameBase(region, oursOmega);
        int steps = ((Algorithm.GradientDescent) settings.algorithm()).steps();
        float[] theta0 = region.logCore(), oursTheta = logCore(region, oursOmega);
        try (NDManager scope = root.newSubManager()) {
            TwinNeighbourLoss twinLoss = new TwinNeighbourLoss(twin, scope, refs, ours.neighbours(), region, settings.lossTokens(),
                    settings.injection());
            float[] exactTheta = twinLoss.descend(theta0, steps, lr);
            float[][] exactOmega = region.fromLogCore(exactTheta);
            return new Comparison(item.id(), twinLoss.loss(theta0), ours.baseLoss(), ours.loss(), twinLoss.loss(oursTheta),
                    twinLoss.loss(exactTheta), cosine(move(region, theta0, oursTheta), move(region, theta0, exactTheta)),
                    greedy(prompt, region.layers(), null), greedy(prompt, region.layers(), oursOmega), greedy(prompt, region.layers(), exactOmega));
        }
    }

    public static void main(String[] args) throws Exception {
        Cli.run("lab ngd", null, () -> {
            Map<String, String> a = EvalCommand.parse(args);
            Path gguf = Path.of(EvalCommand.require(a, "model"));
            Split split = Split.named(EvalCommand.require(a, "split"));
            List<LabItem> all = LabSuiteV2.split(LabTask.Family.named(a.getOrDefault("tasks", "strings")), split);
            List<LabItem> items = all.subList(0, Math.min(all.size(), Integer.parseInt(a.getOrDefault("limit", "40"))));
            C3poSettings settings = a.containsKey("inject")
                    ? C3poSettings.DEFAULTS.withOverrides(StrategySettings.of(Map.of("inject", a.get("inject")))) : C3poSettings.DEFAULTS;
            float lr = Float.parseFloat(a.getOrDefault("lr", "1"));
            try (NDManager root = NDManager.newBaseManager(); MoeTwin twin = MoeTwin.load(gguf, root);
                 Model model = Model.load(ModelParams.of(gguf));
                 ReferenceSet refs = ReferenceSet.load(Path.of(EvalCommand.require(a, "reference")), model);
                 Session session = session(model, settings)) {
                NgdLab lab = new NgdLab(model, session, twin, refs, settings, lr);
                System.out.printf(Locale.ROOT, "%-14s %9s %9s %9s %9s %9s %7s  %s%n", "item", "L0 twin", "L0 llama", "ours", "ours twin",
                        "exact", "cosine", "answers: base / ours / exact (gold)");
                double parity = 0, maxParity = 0, base = 0, oursLoss = 0, oursTwin = 0, exact = 0, cos = 0;
                int n = 0, moved = 0, agree = 0, rightBase = 0, rightOurs = 0, rightExact = 0, degraded = 0;
                for (LabItem it : items) {
                    Comparison c = lab.compare(it, root);
                    if (c == null) {
                        degraded++;
                        continue;
                    }
                    System.out.printf(Locale.ROOT, "%-14s %9.4f %9.4f %9.4f %9.4f %9.4f %7.3f  %s / %s / %s (%s)%n", c.id(), c.twinBase(),
                            c.engineBase(), c.oursEngine(), c.oursTwin(), c.exactTwin(), c.cosine(), c.base(), c.ours(), c.exact(), it.answer());
                    n++;
                    double gap = Math.abs(c.twinBase() - c.engineBase());
                    parity += gap;
                    maxParity = Math.max(maxParity, gap);
                    base += c.engineBase();
                    oursLoss += c.oursEngine();
                    oursTwin += c.oursTwin();
                    exact += c.exactTwin();
                    if (c.oursEngine() < c.engineBase()) { // ours returns ω0 itself unless some point beat it: no move to compare
                        moved++;
                        cos += c.cosine();
                    }
                    agree += c.ours().equals(c.exact()) ? 1 : 0;
                    rightBase += c.base().equals(it.answer()) ? 1 : 0;
                    rightOurs += c.ours().equals(it.answer()) ? 1 : 0;
                    rightExact += c.exact().equals(it.answer()) ? 1 : 0;
                }
                int m = Math.max(1, n);
                System.out.printf(Locale.ROOT, """
                        %s on %s, %d items (%d kept the base routing), injection %s, %d steps; exact: plain gradient descent, lr %.2f
                          surrogate at ω0: llama.cpp %.4f, twin − llama.cpp mean |Δ| %.2e, max %.2e
                          final surrogate: ours %.4f through llama.cpp (%.4f in the twin), exact %.4f in the twin
                          ours moved from ω0 on %d/%d; mean cosine of the moves there (centred log ω − log ω0 over the core experts) %.3f
                          greedy answers: ours and exact agree on %d/%d; right: base %d, ours %d, exact %d
                        """, gguf.getFileName(), split.name(), n, degraded, settings.injection().label(), ((Algorithm.GradientDescent) settings.algorithm()).steps(),
                        lr, base / m, parity / m, maxParity, oursLoss / m, oursTwin / m, exact / m, moved, n, cos / Math.max(1, moved), agree, n, rightBase, rightOurs, rightExact);
            }
        });
    }

    /** ω outside the core experts is ω0's: a mismatch means the probe saw another pathway than the strategy did. */
    private static void requireSameBase(CriticalRegion region, float[][] omega) {
        float[][] own = region.own();
        int[][] core = region.core();
        for (int l = 0; l < own.length; l++) {
            for (int e = 0; e < own[l].length; e++) {
                int expert = e;
                if (Arrays.stream(core[l]).noneMatch(x -> x == expert) && Math.abs(own[l][e] - omega[l][e]) > 1e-6f) {
                    throw new IllegalStateException("the probe's ω0 differs from the strategy's in layer " + region.layers().get(l));
                }
            }
        }
    }

    /** θ for a pathway of the region (up to a constant per layer). */
    private static float[] logCore(CriticalRegion region, float[][] omega) {
        int[][] core = region.core();
        int n = core[0].length;
        float[] theta = new float[core.length * n];
        for (int l = 0; l < core.length; l++) {
            for (int j = 0; j < n; j++) {
                theta[l * n + j] = (float) Math.log(Math.max(omega[l][core[l][j]], 1e-30));
            }
        }
        return theta;
    }

    /** log ω(θ) − log ω(θ0) over the core experts, centred per layer. */
    private static double[] move(CriticalRegion region, float[] theta0, float[] theta) {
        float[] from = logCore(region, region.fromLogCore(theta0)), to = logCore(region, region.fromLogCore(theta));
        int n = region.core()[0].length;
        double[] d = new double[from.length];
        for (int l = 0; l < from.length / n; l++) {
            double mean = 0;
            for (int j = 0; j < n; j++) {
                mean += (to[l * n + j] - from[l * n + j]) / n;
            }
            for (int j = 0; j < n; j++) {
                d[l * n + j] = to[l * n + j] - from[l * n + j] - mean;
            }
        }
        return d;
    }

    /** The greedy answer with ω (null: none) injected in the critical layers as the settings inject it. */
    private String greedy(int[] prompt, List<Integer> layers, float[][] omega) {
        session.clearSequence(ANSWER);
        session.setPlan(ANSWER, omega == null ? RoutingPlan.EMPTY
                : CriticalRegion.plan(layers, omega, settings.injection().positions(prompt.length - 1)));
        GenerationRequest req = new GenerationRequest(prompt, 16, SamplingParams.GREEDY, List.of("\n"), false);
        String text = new Generator(session, ANSWER).generate(req, TokenListener.NONE, new CancellationToken()).text().strip();
        session.clearSequence(ANSWER);
        session.clearPlan(ANSWER);
        return text;
    }
}
