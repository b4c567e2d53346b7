package dev.moeadapter.samples.lab;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.SamplingParams;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.samples.cli.Cli;
import dev.moeadapter.samples.eval.Proportion;
import dev.moeadapter.samples.eval.stats.PairedComparison;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The router oracle: proves routing is the lever before any method is built on it. For each item
 * it may change only the router — one logit delta per MoE layer and expert, added at every position
 * — optimised with exact gradients in the PyTorch twin against the gold answer's NLL (through a
 * straight-through gate, so experts outside the current top-k receive gradient too). The deltas
 * are then applied by llama.cpp through the engine's router edit and the item is answered greedily,
 * so the accuracy reported is the real engine's.
 *
 * <p>With {@code --context} the same machinery is exact-gradient rerouting: the deltas minimise the
 * prompt's own NLL (no gold answer), the reference our zeroth-order rerouting is compared with.
 *
 * <p>With {@code --context-straight-through} the prompt's NLL is minimised through the oracle's gate: the
 * objective searched where plain gradients cannot reach (an expert the router did not select).
 *
 * <p>{@code RouterOracle MODEL.gguf SPLIT [steps] [lr] [limit] [--context | --context-straight-through] [--tasks strings|ciphers|tables|chains]} — e.g.
 * {@code lab-olmoe.gguf test-shifted 60 0.3}, or {@code lab2-olmoe-seed3.gguf misleading-dev 5 0.05 400 --context}
 * ({@code --tasks}: a lab v2 split of that task family; the first by default).
 */
public final class RouterOracle {

    private static final Logger LOG = LoggerFactory.getLogger(RouterOracle.class);

    /** What the deltas are optimised against. */
    enum Objective {
        /** the gold answer's NLL, through a straight-through gate: the oracle */
        ANSWER,
        /** the prompt's own next-token NLL, plain exact gradients: exact-gradient rerouting */
        CONTEXT,
        /**
         * the prompt's own NLL through the oracle's straight-through gate: whether the objective, searched
         * where plain gradients cannot (they never tell which unselected expert would help), moves answers
         */
        CONTEXT_STRAIGHT_THROUGH;

        boolean straightThrough() { return this != CONTEXT; }

        boolean onAnswer() { return this == ANSWER; }
    }

    /** Deltas {@code [items, layers, experts]} for {@code items}, from Adam on the objective, starting at zero. */
    static float[] optimise(MoeTwin twin, NDManager root, List<LabItem> items, int steps, float lr, Objective objective) {
        return optimise(twin, root, items, steps, lr, objective, 0, 0);
    }

    /** As above, starting from Gaussian deltas of standard deviation {@code initScale} drawn from {@code seed} (a restart). */
    static float[] optimise(MoeTwin twin, NDManager root, List<LabItem> items, int steps, float lr, Objective objective,
                            long seed, float initScale) {
        TwinShape s = twin.shape();
        java.util.Random init = new java.util.Random(seed);
        int per = s.layers() * s.experts();
        float[] out = new float[items.size() * per];
        for (int from = 0; from < items.size(); from += 100) {
            List<LabItem> chunk = items.subList(from, Math.min(items.size(), from + 100));
            try (NDManager sub = root.newSubManager()) {
                twin.lendTo(sub);
                LabBatch b = LabBatch.of(sub, chunk);
                float[] start = new float[chunk.size() * per];
                for (int i = 0; i < start.length && initScale > 0; i++) start[i] = (float) (init.nextGaussian() * initScale);
                NDArray delta = sub.create(start, new Shape(chunk.size(), s.layers(), s.experts())).duplicate();
                NDArray m = delta.zerosLike(), v = delta.zerosLike();
                delta.setRequiresGradient(true);
                for (int step = 1; step <= steps; step++) {
                    try (NDManager perStep = sub.newSubManager();
                         GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        twin.lendTo(perStep);
                        delta.tempAttach(perStep);
                        m.tempAttach(perStep);
                        v.tempAttach(perStep);
                        gc.zeroGradients();
                        NDArray logits = twin.forward(b.tokens(), delta, objective.straightThrough()).logits();
                        NDArray mask = objective.onAnswer() ? b.answer() : b.context();
                        // sum over items of each item's mean NLL: items do not interact
                        NDArray logp = logits.logSoftmax(-1).gather(b.targets().expandDims(-1), -1).squeeze(-1);
                        NDArray nll = logp.mul(mask).sum(new int[] {1}).neg().div(mask.sum(new int[] {1}));
                        gc.backward(nll.sum());
                        if (step == 1 || step == steps) {
                            LOG.info("items {}..{}: step {} mean {} NLL {}", from, from + chunk.size(), step, objective,
                                    String.format(Locale.ROOT, "%.4f", nll.mean().getFloat()));
                        }
                        gc.close(); // leaves the autograd scope: the update below is not recorded
                        // an item whose gradient is not finite (rare: saturated softmaxes) keeps its delta this step
                        NDArray raw = delta.getGradient();
                        NDArray g = NDArrays.where(raw.isNaN().logicalOr(raw.isInfinite()), raw.zerosLike(), raw);
                        LabTrainer.adamUpdate(delta, g, m, v, lr, 0.999f, step);
                    }
                }
                System.arraycopy(delta.toFloatArray(), 0, out, from * per, chunk.size() * per);
            }
        }
        return out;
    }

    /** Greedy answers through llama.cpp, each item under its own deltas (or none); returns correctness. */
    static boolean[] answer(Model model, List<LabItem> items, float[] deltas) {
        int layers = model.info().layers(), experts = model.info().experts();
        boolean[] ok = new boolean[items.size()];
        try (Session session = model.newSession(SessionParams.defaults().withContextSize(128).withBatchSize(128).withThreads(1))) {
            for (int i = 0; i < items.size(); i++) {
                List<RouterEdit> edits = new ArrayList<>();
                for (int l = 0; deltas != null && l < layers; l++) {
                    int at = (i * layers + l) * experts;
                    edits.add(new RouterEdit.AddDelta(l, Arrays.copyOfRange(deltas, at, at + experts), PositionRange.ALL));
                }
                session.clear();
                session.setPlan(0, new RoutingPlan(edits));
                GenerationRequest req = new GenerationRequest(model.tokenize(items.get(i).prompt()), 16, SamplingParams.GREEDY, List.of("\n"), false);
                GenerationResult r = new Generator(session, 0).generate(req, TokenListener.NONE, new CancellationToken());
                ok[i] = r.text().strip().equals(items.get(i).answer());
            }
        }
        return ok;
    }

    public static void main(String[] argv) throws Exception {
        Cli.run("lab oracle", null, () -> {
            LabToolArgs a = LabToolArgs.parse(argv);
            Objective objective = a.has("--context-straight-through") ? Objective.CONTEXT_STRAIGHT_THROUGH
                    : a.has("--context") ? Objective.CONTEXT : Objective.ANSWER;
            Path gguf = Path.of(a.required(0, "MODEL.gguf"));
            int steps = Integer.parseInt(a.at(2, "60"));
            float lr = Float.parseFloat(a.at(3, "0.3"));
            List<LabItem> all = a.split(a.required(1, "SPLIT"));
            List<LabItem> items = a.positional().size() > 4 ? all.subList(0, Math.min(all.size(), Integer.parseInt(a.required(4, "LIMIT")))) : all;
            try (NDManager root = NDManager.newBaseManager(); MoeTwin twin = MoeTwin.load(gguf, root);
                 Model model = Model.load(ModelParams.of(gguf))) {
                long t0 = System.nanoTime();
                float[] deltas = optimise(twin, root, items, steps, lr, objective);
                LOG.info("optimised {} deltas ({} Adam steps, lr {}) in {} s", items.size(), steps, lr,
                        String.format(Locale.ROOT, "%.0f", (System.nanoTime() - t0) / 1e9));
                boolean[] base = answer(model, items, null), oracle = answer(model, items, deltas);
                int nb = 0, no = 0;
                for (int i = 0; i < items.size(); i++) {
                    nb += base[i] ? 1 : 0;
                    no += oracle[i] ? 1 : 0;
                }
                System.out.printf(Locale.ROOT, "%s on %s (n=%d): base %s, %s %s; %s%n", gguf.getFileName(), a.required(1, "SPLIT"),
                        items.size(), Proportion.of(nb, items.size()),
                        switch (objective) {
                            case ANSWER -> "router oracle";
                            case CONTEXT -> "exact-gradient rerouting (" + steps + " steps, lr " + lr + ")";
                            case CONTEXT_STRAIGHT_THROUGH -> "prompt NLL through a straight-through gate (" + steps + " steps, lr " + lr + ")";
                        },
                        Proportion.of(no, items.size()), PairedComparison.of(base, oracle));
            }
        });
    }
}
