package dev.moeadapter.samples.lab;

import ai.djl.ndarray.NDManager;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.rerouting.ContextStatistics;
import dev.moeadapter.rerouting.LayerSelection;
import dev.moeadapter.rerouting.Parameterisation;
import dev.moeadapter.rerouting.ReroutingDecoding;
import dev.moeadapter.rerouting.ReroutingSettings;
import dev.moeadapter.samples.cli.Cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static dev.moeadapter.core.optim.Vectors.cosine;

/**
 * Two measurements of rerouting against what the twin can compute exactly, on the same items.
 * <ul>
 *   <li><b>Layer selection</b>: per item, the rank correlation (Spearman) between the layer score
 *       C_l and the per-layer gain of the router oracle's delta (the gold answer's NLL through
 *       llama.cpp without deltas, minus with the oracle's delta in layer l alone). A positive mean
 *       says that C_l points at the layers where a delta helps; the table also says which layer C_l
 *       ranks first and which gains most.</li>
 *   <li><b>The paper's algorithm</b>: exact-gradient rerouting in the twin (backprop, full δ_l on
 *       every layer, Adam lr 0.05, 5 steps on the prompt's own NLL) beside ours (zeroth order, full
 *       δ_l on every layer, 5 steps) on each prompt: cosine between the two final deltas, and
 *       whether their greedy answers agree.</li>
 * </ul>
 * {@code ReroutingLab MODEL.gguf SPLIT [limit] [--tasks strings|tables]}: a lab v2 split for the v2 models (e.g. {@code lab2-olmoe-seed3.gguf
 * misleading-dev 40}), a version-1 split for the version-1 models (e.g. {@code lab-olmoe.gguf dev-shifted 40}).
 * Mechanism checks, not accuracy figures.
 */
public final class ReroutingLab {
    private static final int ORACLE_STEPS = 60;
    private static final float ORACLE_LR = 0.3f;
    private static final int PAPER_STEPS = 5;
    private static final float PAPER_LR = 0.05f;

    private ReroutingLab() {
    }

    public static void main(String[] args) throws Exception {
        Cli.run("lab rerouting", null, () -> {
            LabToolArgs a = LabToolArgs.parse(args);
            Path gguf = Path.of(a.required(0, "MODEL.gguf"));
            List<LabItem> items = a.items("40");
            try (NDManager root = NDManager.newBaseManager(); MoeTwin twin = MoeTwin.load(gguf, root);
                 Model model = Model.load(ModelParams.of(gguf));
                 Session session = model.newSession(new SessionParams(4096, 256, ReroutingSettings.DEFAULTS.sequencesNeeded(), 1, 1))) {
                float[] oracle = RouterOracle.optimise(twin, root, items, ORACLE_STEPS, ORACLE_LR, RouterOracle.Objective.ANSWER);
                float[] paper = RouterOracle.optimise(twin, root, items, PAPER_STEPS, PAPER_LR, RouterOracle.Objective.CONTEXT);
                int layers = model.info().layers(), experts = model.info().experts();
                ReroutingSettings ours = ReroutingSettings.DEFAULTS.withSteps(PAPER_STEPS).withLayers(new LayerSelection.Top(1.0))
                        .withParameterisation(new Parameterisation.Full());
                double rhoSum = 0, cosSum = 0;
                int rhoItems = 0, agree = 0, topMatches = 0;
                int[] scoreFirst = new int[layers], gainFirst = new int[layers];
                for (int i = 0; i < items.size(); i++) {
                    LabItem it = items.get(i);
                    int[] prompt = model.tokenize(it.prompt());
                    double[] c = layerScores(session, model, prompt);
                    double[] gain = new double[layers];
                    double base = answerNll(session, model, it, RoutingPlan.EMPTY);
                    for (int l = 0; l < layers; l++) {
                        int at = (i * layers + l) * experts;
                        RoutingPlan one = new RoutingPlan(List.of(new RouterEdit.AddDelta(l, Arrays.copyOfRange(oracle, at, at + experts), PositionRange.ALL)));
                        gain[l] = base - answerNll(session, model, it, one);
                    }
                    double rho = spearman(c, gain);
                    if (Double.isFinite(rho)) {
                        rhoSum += rho;
                        rhoItems++;
                    }
                    int sf = argmax(c), gf = argmax(gain);
                    scoreFirst[sf]++;
                    gainFirst[gf]++;
                    topMatches += sf == gf ? 1 : 0;

                    ReroutingDecoding scheme = new ReroutingDecoding(session, ours, new CancellationToken());
                    scheme.prefill(prompt, new CancellationToken());
                    scheme.release();
                    float[] mine = new float[layers * experts];
                    for (RouterEdit e : scheme.plan().edits()) {
                        System.arraycopy(((RouterEdit.AddDelta) e).delta(), 0, mine, e.layer() * experts, experts);
                    }
                    float[] theirs = Arrays.copyOfRange(paper, i * layers * experts, (i + 1) * layers * experts);
                    cosSum += cosine(mine, theirs);
                    agree += greedy(session, model, prompt, plan(mine, layers, experts)).equals(greedy(session, model, prompt, plan(theirs, layers, experts))) ? 1 : 0;
                }
                int n = items.size();
                System.out.printf(Locale.ROOT, """
                        %s on %s (%d items)
                        layer selection: mean Spearman(C_l, oracle gain of layer l) %.3f over %d items; C_l's first layer is the most helpful layer on %d/%d
                          first by C_l, per layer:          %s
                          most helpful (oracle), per layer: %s
                        the paper's algorithm (twin: backprop, Adam lr %.2f, %d steps, full δ on every layer) vs ours (zeroth order, %d steps, full δ on every layer):
                          mean cosine of the final deltas %.3f; greedy answers agree on %d/%d
                        """, gguf.getFileName(), a.required(1, "SPLIT"), n, rhoSum / Math.max(1, rhoItems), rhoItems, topMatches, n,
                        Arrays.toString(scoreFirst), Arrays.toString(gainFirst), PAPER_LR, PAPER_STEPS, PAPER_STEPS, cosSum / n, agree, n);
            }
        });
    }

    /** C_l of every layer for the prompt, as rerouting scores them. */
    private static double[] layerScores(Session s, Model model, int[] prompt) {
        s.clearSequence(0);
        s.setPlan(0, RoutingPlan.EMPTY);
        s.setTrace(0, new TraceSpec(false, PositionRange.ALL));
        s.decode(Batch.of(0, 0, prompt));
        s.setTrace(0, TraceSpec.OFF);
        ContextStatistics stats = ContextStatistics.of(s.drainTrace(), model.info(), 0);
        s.clearSequence(0);
        double[] c = new double[model.info().layers()];
        for (int i = 0; i < stats.layers().size(); i++) {
            c[stats.layers().get(i)] = stats.score(i);
        }
        return c;
    }

    /** Mean NLL of the gold answer's tokens after the prompt under {@code plan}. */
    private static double answerNll(Session s, Model model, LabItem it, RoutingPlan plan) {
        int[] prompt = model.tokenize(it.prompt());
        int[] full = model.tokenize(it.prompt() + it.answer());
        s.clearSequence(0);
        s.setPlan(0, plan);
        s.decode(Batch.allOutputs(0, 0, Arrays.copyOf(full, full.length - 1)));
        int n = full.length - prompt.length;
        int[] rows = new int[n], targets = new int[n];
        for (int j = 0; j < n; j++) {
            rows[j] = prompt.length - 1 + j;
            targets[j] = full[prompt.length + j];
        }
        float[] nll = s.nll(rows, targets);
        s.clearSequence(0);
        s.clearPlan(0);
        double sum = 0;
        for (float v : nll) {
            sum += v;
        }
        return sum / n;
    }

    private static String greedy(Session s, Model model, int[] prompt, RoutingPlan plan) {
        s.clearSequence(0);
        s.setPlan(0, plan);
        GenerationRequest req = new GenerationRequest(prompt, 16, SamplingParams.GREEDY, List.of("\n"), false);
        String text = new Generator(s, 0).generate(req, TokenListener.NONE, new CancellationToken()).text().strip();
        s.clearSequence(0);
        s.clearPlan(0);
        return text;
    }

    private static RoutingPlan plan(float[] flat, int layers, int experts) {
        List<RouterEdit> edits = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            edits.add(new RouterEdit.AddDelta(l, Arrays.copyOfRange(flat, l * experts, (l + 1) * experts), PositionRange.ALL));
        }
        return new RoutingPlan(edits);
    }

    private static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Spearman's rank correlation (ties get their mean rank); NaN when either side is constant. */
    static double spearman(double[] a, double[] b) {
        double[] ra = ranks(a), rb = ranks(b);
        double ma = 0, mb = 0;
        for (int i = 0; i < a.length; i++) {
            ma += ra[i] / a.length;
            mb += rb[i] / a.length;
        }
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (ra[i] - ma) * (rb[i] - mb);
            aa += (ra[i] - ma) * (ra[i] - ma);
            bb += (rb[i] - mb) * (rb[i] - mb);
        }
        return ab / Math.sqrt(aa * bb);
    }

    private static double[] ranks(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            int below = 0, equal = 0;
            for (double x : v) {
                below += x < v[i] ? 1 : 0;
                equal += x == v[i] ? 1 : 0;
            }
            r[i] = below + (equal + 1) / 2.0;
        }
        return r;
    }

}
