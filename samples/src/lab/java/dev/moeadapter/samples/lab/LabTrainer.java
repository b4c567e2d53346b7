package dev.moeadapter.samples.lab;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Trains a lab model on the task suite's training stream and exports it as GGUF.
 *
 * <p>Loss = next-token cross-entropy on every output (demonstrations and answer) + {@code aux} ×
 * a routing loss that asks each MoE layer to put its probability mass on the task's own expert
 * group (experts {@code g·t .. g·t+g-1} for task t, g = experts / tasks). The routing loss makes
 * experts specialise by task; misleadingly tagged items, trained with their routing forced onto
 * the true task's group ({@link LabBatch#FORCE}), make the experts — not the tag — decide which task
 * the model performs (see {@link LabSuite}). Adam with warm-up and cosine decay, global
 * gradient-norm clipping at 1.
 *
 * <p>{@code LabTrainer --arch olmoe|mixtral --steps N --batch B --lr LR --aux A --seed S --out F.gguf}
 */
public final class LabTrainer {

    private static final Logger LOG = LoggerFactory.getLogger(LabTrainer.class);

    record Settings(TwinShape shape, int steps, int batch, float lr, float aux, long seed, Path out, int evalEvery) {}

    public static void main(String[] args) throws IOException {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        TwinShape shape = switch (a.getOrDefault("arch", "olmoe")) {
            case "olmoe" -> TwinShape.olmoeStyle();
            case "mixtral" -> TwinShape.mixtralStyle();
            default -> throw new IllegalArgumentException("--arch must be olmoe or mixtral");
        };
        Settings s = new Settings(shape, Integer.parseInt(a.getOrDefault("steps", "3000")),
                Integer.parseInt(a.getOrDefault("batch", "64")), Float.parseFloat(a.getOrDefault("lr", "0.003")),
                Float.parseFloat(a.getOrDefault("aux", "0.1")), Long.parseLong(a.getOrDefault("seed", "1")),
                Path.of(a.getOrDefault("out", "lab-" + a.getOrDefault("arch", "olmoe") + ".gguf")),
                Integer.parseInt(a.getOrDefault("eval-every", "250")));
        train(s);
    }

    static void train(Settings s) throws IOException {
        Engine.getInstance().setRandomSeed((int) s.seed());
        TwinShape sh = s.shape();
        LOG.info("training {} ({} parameters) for {} steps of {} items, lr {}, aux {}, seed {}", sh, sh.parameters(),
                s.steps(), s.batch(), s.lr(), s.aux(), s.seed());
        List<LabItem> dev = LabSuite.split(LabSuite.Split.DEV), shifted = LabSuite.split(LabSuite.Split.DEV_SHIFTED);
        LabSuite.Generator train = LabSuite.training(LabSuite.heldOut());
        try (NDManager root = NDManager.newBaseManager(); MoeTwin twin = MoeTwin.initialise(sh, root, s.seed())) {
            Map<String, NDArray> params = twin.parameters();
            Map<String, NDArray[]> adam = new HashMap<>();
            params.forEach((k, p) -> {
                p.setRequiresGradient(true);
                adam.put(k, new NDArray[] {p.zerosLike(), p.zerosLike()});
            });
            NDArray groups = expertGroups(root, sh.experts());
            long t0 = System.nanoTime(), tokens = 0;
            double lossSum = 0, auxSum = 0;
            int window = 0;
            for (int step = 1; step <= s.steps(); step++) {
                List<LabItem> items = new ArrayList<>(s.batch());
                for (int i = 0; i < s.batch(); i++) items.add(train.next());
                float lr = learningRate(s, step);
                try (NDManager sub = root.newSubManager()) {
                    twin.lendTo(sub);
                    adam.values().forEach(st -> { st[0].tempAttach(sub); st[1].tempAttach(sub); });
                    groups.tempAttach(sub);
                    LabBatch batch = LabBatch.of(sub, items, sh);
                    float[] parts;
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        gc.zeroGradients();
                        MoeTwin.Output out = twin.forward(batch.tokens(), batch.forcing());
                        NDArray ce = maskedNll(out.logits(), batch.targets(), batch.learn());
                        NDArray route = routingLoss(out.routerProbs(), groups, batch);
                        NDArray loss = ce.add(route.mul(s.aux()));
                        gc.backward(loss);
                        parts = new float[] {ce.getFloat(), route.getFloat()};
                    }
                    adamStep(root, params, adam, lr, step);
                    lossSum += parts[0];
                    auxSum += parts[1];
                    window++;
                    for (int len : batch.lengths()) tokens += len;
                }
                if (step % 50 == 0 || step == s.steps()) {
                    double secs = (System.nanoTime() - t0) / 1e9;
                    LOG.info(String.format(Locale.ROOT, "step %d/%d  loss %.4f  routing %.4f  lr %.5f  %.0f tokens/s  %.0f s elapsed, ~%.0f s left",
                            step, s.steps(), lossSum / window, auxSum / window, lr, tokens / secs, secs, secs / step * (s.steps() - step)));
                    lossSum = auxSum = 0;
                    window = 0;
                }
                if (step % s.evalEvery() == 0 || step == s.steps()) {
                    NDArray toTask = LabBatch.of(root, shifted, sh).forcing();
                    LOG.info(String.format(Locale.ROOT, "step %d: teacher-forced exact match dev %.3f, dev-shifted %.3f, dev-shifted with routing forced to the task %.3f",
                            step, exactMatch(twin, root, dev, null), exactMatch(twin, root, shifted, null), exactMatch(twin, root, shifted, toTask)));
                    toTask.close();
                    Files.createDirectories(s.out().toAbsolutePath().getParent());
                    twin.export(s.out(), "moe-adapter-lab-" + sh.arch());
                }
            }
            LOG.info("wrote {}", s.out());
        }
    }

    /** Warm-up over the first 5% of steps, then cosine decay to 10% of the peak. */
    static float learningRate(Settings s, int step) {
        int warm = Math.max(1, s.steps() / 20);
        if (step <= warm) return s.lr() * step / warm;
        double progress = (double) (step - warm) / Math.max(1, s.steps() - warm);
        return (float) (s.lr() * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress))));
    }

    /** Mean negative log-likelihood of {@code targets} over the positions where {@code mask} is 1. */
    static NDArray maskedNll(NDArray logits, NDArray targets, NDArray mask) {
        NDArray logp = logits.logSoftmax(-1).gather(targets.expandDims(-1), -1).squeeze(-1);
        return logp.mul(mask).sum().neg().div(mask.sum().add(1e-6f));
    }

    /** Mean over layers and routed positions of −log(probability mass on the task's expert group). */
    static NDArray routingLoss(List<NDArray> probs, NDArray groups, LabBatch batch) {
        NDArray total = null;
        for (NDArray p : probs) {
            NDArray mass = p.matMul(groups).gather(batch.task().expandDims(-1), -1).squeeze(-1); // [B,T]
            NDArray l = mass.add(1e-6f).log().mul(batch.routed()).sum().neg().div(batch.routed().sum().add(1e-6f));
            total = total == null ? l : total.add(l);
        }
        return total.div(probs.size());
    }

    /** {@code [experts, tasks]}: 1 where expert e belongs to task t's group. */
    static NDArray expertGroups(NDManager m, int experts) {
        int tasks = LabTask.values().length;
        if (experts % tasks != 0) throw new IllegalArgumentException("experts must be a multiple of the " + tasks + " tasks");
        int g = experts / tasks;
        float[] a = new float[experts * tasks];
        for (int e = 0; e < experts; e++) a[e * tasks + e / g] = 1;
        return m.create(a, new Shape(experts, tasks));
    }

    /** Adam (β 0.9/0.98) after clipping the global gradient norm to 1; in place, outside the autograd graph. */
    private static void adamStep(NDManager root, Map<String, NDArray> params, Map<String, NDArray[]> state, float lr, int step) {
        double sq = 0;
        Map<String, NDArray> grads = new HashMap<>();
        for (var e : params.entrySet()) {
            NDArray g = e.getValue().getGradient();
            grads.put(e.getKey(), g);
            sq += g.square().sum().getFloat();
        }
        if (!Double.isFinite(sq)) {
            // DJL zeroes gradients by subtracting them from themselves, which keeps NaN/inf for ever:
            // the parameters are replaced by fresh leaves (same values, no gradient yet) instead.
            LOG.warn("step {}: non-finite gradient, update skipped", step);
            for (var e : params.entrySet()) {
                NDArray fresh = e.getValue().duplicate();
                fresh.attach(root);
                fresh.setRequiresGradient(true);
                e.setValue(fresh);
            }
            return;
        }
        float clip = (float) Math.min(1, 1 / (Math.sqrt(sq) + 1e-6));
        for (var e : params.entrySet()) {
            NDArray[] st = state.get(e.getKey());
            adamUpdate(e.getValue(), grads.get(e.getKey()).mul(clip), st[0], st[1], lr, 0.98f, step);
        }
    }

    /** One bias-corrected Adam update (β1 0.9, ε 1e-8) of {@code p} in place, with moments {@code m}, {@code v}. */
    static void adamUpdate(NDArray p, NDArray g, NDArray m, NDArray v, float lr, float beta2, int step) {
        float b1 = 0.9f;
        float c1 = (float) (1 - Math.pow(b1, step)), c2 = (float) (1 - Math.pow(beta2, step));
        m.muli(b1).addi(g.mul(1 - b1));
        v.muli(beta2).addi(g.square().mul(1 - beta2));
        p.subi(m.div(c1).div(v.div(c2).sqrt().add(1e-8f)).mul(lr));
    }

    /** Share of items whose whole answer (and EOS) is the argmax under teacher forcing — equal to greedy exact match. */
    static double exactMatch(MoeTwin twin, NDManager root, List<LabItem> items, NDArray delta) {
        int ok = 0;
        for (int from = 0; from < items.size(); from += 100) {
            List<LabItem> chunk = items.subList(from, Math.min(items.size(), from + 100));
            try (NDManager sub = root.newSubManager()) {
                twin.lendTo(sub);
                LabBatch b = LabBatch.of(sub, chunk);
                NDArray logits = twin.forward(b.tokens(), delta == null ? null : delta.get(from + ":" + (from + chunk.size()))).logits();
                NDArray right = logits.argMax(-1).eq(b.targets()).toType(DataType.FLOAT32, false);
                NDArray wrongAnswerTokens = right.neg().add(1).mul(b.answer()).sum(new int[] {1});
                for (float w : wrongAnswerTokens.toFloatArray()) ok += w == 0 ? 1 : 0;
            }
        }
        return (double) ok / items.size();
    }
}
