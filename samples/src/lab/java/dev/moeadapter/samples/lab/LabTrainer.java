package dev.moeadapter.samples.lab;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.moeadapter.samples.cli.Cli;
import dev.moeadapter.samples.eval.EvalCommand;
import dev.moeadapter.samples.lab.LabSuiteV2.Part;
import dev.moeadapter.samples.lab.LabSuiteV2.Shift;
import dev.moeadapter.samples.lab.LabSuiteV2.Split;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Trains a lab v2 model the way real MoE language models are trained, and exports it as GGUF.
 *
 * <p>Loss = next-token cross-entropy on every token of every item (tag, demonstrations, query,
 * answer) + {@code balance} × the standard load-balancing loss (Switch Transformer: E · Σ_i f_i·P_i
 * per MoE layer, f_i the share of top-k selections on expert i, P_i its mean router probability).
 * The router is trained end to end on every item; nothing forces or withholds routing. Optionally a
 * weak expert-grouping loss ({@code group} × −log of the router mass on the task's own expert group,
 * on items with their own tag; with {@code group-on answers} also on the answer targets of untagged
 * and misleading items, where the demonstrations have told the task), linearly annealed to zero at
 * {@code group-until} of training; it is
 * off unless asked for, and model cards state it. Adam (β 0.9/0.98) with warm-up and cosine decay,
 * global gradient-norm clipping at 1.
 *
 * <p>Interruptible: the state (parameters, Adam moments, step) is checkpointed every
 * {@code checkpoint-minutes} and at every evaluation into {@code checkpoint} (by default under the
 * download cache, outside the work tree); a run started with the same recipe resumes from it.
 *
 * <p>{@code LabTrainer --arch olmoe|mixtral --steps N --batch B --lr LR --seed S --out F.gguf
 * [--balance 0.01] [--group 0] [--group-until 0.3] [--group-on tagged|answers] [--tasks strings|ciphers|tables|chains] [--untagged PCT --misleading PCT] [--alias PCT] [--layers L --experts E --topk K --ff F --embd D]
 * [--eval-every N] [--stop-at-dev ACC] [--checkpoint DIR] [--checkpoint-minutes 10] [--card-only true]}
 *
 * <p>With {@code stop-at-dev}, training ends at the first evaluation whose teacher-forced
 * in-distribution dev accuracy reaches ACC (the schedule stays that of {@code steps}): every seed
 * then lands near the same accuracy, which fixed step counts did not give (seeds of one recipe
 * ended 10 points apart).
 */
public final class LabTrainer {

    private static final Logger LOG = LoggerFactory.getLogger(LabTrainer.class);

    /** The splits evaluated during training (teacher-forced exact match in the twin); the first decides a stop. */
    static List<Split> watched(LabTask.Family family) {
        List<Split> out = new java.util.ArrayList<>(List.of(new Split(Shift.NONE, Part.DEV), new Split(Shift.UNTAGGED, Part.DEV),
                new Split(Shift.MISLEADING, Part.DEV), new Split(Shift.LONG, Part.DEV)));
        if (family.hasAliases()) out.add(new Split(Shift.ALIAS, Part.DEV));
        return out;
    }

    record Settings(TwinShape shape, int steps, int batch, float lr, float balance, float group, float groupUntil,
                    LabBatch.GroupOn groupOn, LabTask.Family family, int untaggedPercent, int misleadingPercent, int aliasPercent, long seed, Path out, int evalEvery,
                    Path checkpointDir, double checkpointMinutes, double stopAtDev) {

        /**
         * What makes two runs the same run: a checkpoint resumes only a run with this recipe. How often it is
         * evaluated and where it stops are not part of it: they end a run, they do not change its steps.
         */
        String recipe() {
            return String.format(Locale.ROOT, "%s steps=%d batch=%d lr=%s balance=%s group=%s group-until=%s untagged=%d misleading=%d seed=%d suite=%d",
                    shape, steps, batch, lr, balance, group, groupUntil, untaggedPercent, misleadingPercent, seed, LabSuiteV2.SEED)
                    + (groupOn == LabBatch.GroupOn.TAGGED ? "" : " group-on=" + groupOn.flag()) // v2's recipes stay as they were
                    + (family == LabTask.Family.STRINGS ? "" : " tasks=" + family.flag())
                    + (aliasPercent == 0 ? "" : " alias=" + aliasPercent);
        }

        /** The share of items with their own tag, in percent. */
        int taggedPercent() { return 100 - untaggedPercent - misleadingPercent - aliasPercent; }
    }

    public static void main(String[] args) throws Exception {
        Cli.run("lab train", null, () -> {
            Map<String, String> a = EvalCommand.parse(args);
            String arch = a.getOrDefault("arch", "olmoe");
            TwinShape base = switch (arch) {
                case "olmoe" -> TwinShape.olmoeStyle();
                case "mixtral" -> TwinShape.mixtralStyle();
                default -> throw new IllegalArgumentException("--arch must be olmoe or mixtral");
            };
            TwinShape shape = base.resized(integer(a, "embd", base.embd()), integer(a, "layers", base.layers()),
                    integer(a, "experts", base.experts()), integer(a, "topk", base.topK()), integer(a, "ff", base.ff()));
            long seed = Long.parseLong(a.getOrDefault("seed", "1"));
            String name = "lab2-" + arch + "-seed" + seed;
            Path cache = Path.of(System.getenv().getOrDefault("MOE_ADAPTER_CACHE", System.getProperty("user.home") + "/.cache/moe-adapter"));
            Settings s = new Settings(shape, integer(a, "steps", 2000), integer(a, "batch", 64),
                    Float.parseFloat(a.getOrDefault("lr", "0.003")), Float.parseFloat(a.getOrDefault("balance", "0.01")),
                    Float.parseFloat(a.getOrDefault("group", "0")), Float.parseFloat(a.getOrDefault("group-until", "0.3")),
                    LabBatch.GroupOn.named(a.getOrDefault("group-on", "tagged")), LabTask.Family.named(a.getOrDefault("tasks", "strings")),
                    integer(a, "untagged", LabSuiteV2.UNTAGGED_PERCENT), integer(a, "misleading", 100 - LabSuiteV2.TAGGED_PERCENT - LabSuiteV2.UNTAGGED_PERCENT),
                    integer(a, "alias", 0), seed,
                    Path.of(a.getOrDefault("out", name + ".gguf")), integer(a, "eval-every", 250),
                    Path.of(a.getOrDefault("checkpoint", cache.resolve("lab-checkpoints").resolve(name).toString())),
                    Double.parseDouble(a.getOrDefault("checkpoint-minutes", "10")), Double.parseDouble(a.getOrDefault("stop-at-dev", "0")));
            if (Boolean.parseBoolean(a.getOrDefault("card-only", "false"))) {
                LabCard.write(s, s.checkpointDir().resolve("training-log.tsv"), card(s), StopMarker.read(s)); // a finished run's card, rewritten
                return;
            }
            train(s);
        });
    }

    private static int integer(Map<String, String> a, String key, int fallback) {
        return a.containsKey(key) ? Integer.parseInt(a.get(key)) : fallback;
    }

    /**
     * The marker a run leaves when it meets its dev target: the step it stopped at and the target it met
     * (a marker of the earlier form holds the step only, and so no target).
     */
    record StopMarker(int step, double target) {
        private static final String FILE = "stopped-at-step";

        static Optional<StopMarker> read(Settings s) throws IOException {
            Path marker = s.checkpointDir().resolve(FILE);
            if (!Files.exists(marker)) return Optional.empty();
            String[] f = Files.readString(marker).strip().split("\\s+");
            return Optional.of(new StopMarker(Integer.parseInt(f[0]), f.length > 1 ? Double.parseDouble(f[1]) : Double.NaN));
        }

        void write(Settings s) throws IOException {
            Files.writeString(s.checkpointDir().resolve(FILE), step + " " + target);
        }

        static void clear(Settings s) throws IOException {
            Files.deleteIfExists(s.checkpointDir().resolve(FILE));
        }
    }

    /** The model card's path: the GGUF's, with {@code .md}. */
    static Path card(Settings s) {
        return Path.of(s.out().toString().replaceFirst("\\.gguf$", "") + ".md");
    }

    static void train(Settings s) throws IOException {
        Engine.getInstance().setRandomSeed((int) s.seed());
        TwinShape sh = s.shape();
        Path ckptFile = s.checkpointDir().resolve("checkpoint.bin"), logFile = s.checkpointDir().resolve("training-log.tsv");
        LOG.info("training {} ({} parameters) for {} steps of {} items, lr {}, balance {}, group {} until {}, seed {}; checkpoints in {}",
                sh, sh.parameters(), s.steps(), s.batch(), s.lr(), s.balance(), s.group(), s.groupUntil(), s.seed(), s.checkpointDir());
        Set<String> heldOut = LabSuiteV2.heldOut(s.family());
        Map<Split, List<LabItem>> watched = new LinkedHashMap<>();
        List<Split> watchedSplits = watched(s.family());
        watchedSplits.forEach(sp -> watched.put(sp, LabSuiteV2.split(s.family(), sp)));
        try (NDManager root = NDManager.newBaseManager(); MoeTwin twin = MoeTwin.initialise(sh, root, s.seed())) {
            Map<String, NDArray> params = twin.parameters();
            Map<String, NDArray[]> adam = new HashMap<>();
            params.forEach((k, p) -> adam.put(k, new NDArray[] {p.zerosLike(), p.zerosLike()}));
            int first = 1;
            var saved = TrainingCheckpoint.load(ckptFile);
            if (saved.isPresent()) {
                if (!saved.get().recipe().equals(s.recipe())) {
                    throw new IllegalStateException("checkpoint " + ckptFile + " belongs to another recipe (" + saved.get().recipe()
                            + "); remove it or pass another --checkpoint");
                }
                saved.get().state().forEach((k, arrays) -> {
                    params.get(k).set(arrays[0]);
                    adam.get(k)[0].set(arrays[1]);
                    adam.get(k)[1].set(arrays[2]);
                });
                first = saved.get().step() + 1;
                if (StopMarker.read(s).filter(m -> m.target() == s.stopAtDev()).isPresent()) {
                    first = s.steps() + 1; // met its dev target before the interruption: nothing left to train
                    LOG.info("the run already met its dev target at step {}", saved.get().step());
                } else {
                    StopMarker.clear(s); // another target, or none met yet: train on from where it stopped
                    LOG.info("resuming from the checkpoint at step {}", saved.get().step());
                }
            } else {
                Files.createDirectories(s.checkpointDir());
                Files.writeString(logFile, "step\tloss\tbalance\tgroup\t" + String.join("\t", watchedSplits.stream().map(Split::name).toList()) + "\n");
            }
            params.values().forEach(p -> p.setRequiresGradient(true));
            NDArray groups = expertGroups(root, sh.experts());
            long t0 = System.nanoTime(), lastCheckpoint = t0, tokens = 0;
            double lossSum = 0, balanceSum = 0, groupSum = 0;
            int window = 0;
            double devMatch = 0;
            boolean stop = false;
            for (int step = first; step <= s.steps(); step++) {
                List<LabItem> items = LabSuiteV2.trainingBatch(s.family(), s.seed(), step, s.batch(), heldOut, s.untaggedPercent(), s.misleadingPercent(),
                        s.aliasPercent());
                float lr = learningRate(s.lr(), s.steps(), step);
                float groupWeight = (float) (s.group() * Math.max(0, 1 - step / (s.groupUntil() * s.steps())));
                try (NDManager sub = root.newSubManager()) {
                    twin.lendTo(sub);
                    adam.values().forEach(st -> { st[0].tempAttach(sub); st[1].tempAttach(sub); });
                    groups.tempAttach(sub);
                    LabBatch batch = LabBatch.of(sub, items, s.family(), s.groupOn());
                    float[] parts;
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        gc.zeroGradients();
                        MoeTwin.Output out = twin.forward(batch.tokens(), null, false, true);
                        NDArray ce = maskedNll(out.logits(), batch.targets(), batch.valid());
                        NDArray balance = balanceLoss(out.routerProbs(), batch.valid(), sh.topK());
                        NDArray loss = ce.add(balance.mul(s.balance()));
                        NDArray grouping = null;
                        if (groupWeight > 0) {
                            grouping = groupLoss(out.routerProbs(), groups, batch);
                            loss = loss.add(grouping.mul(groupWeight));
                        }
                        gc.backward(loss);
                        parts = new float[] {ce.getFloat(), balance.getFloat(), grouping == null ? 0 : grouping.getFloat()};
                    }
                    adamStep(root, params, adam, lr, step);
                    lossSum += parts[0];
                    balanceSum += parts[1];
                    groupSum += parts[2];
                    window++;
                    for (int len : batch.lengths()) tokens += len;
                }
                if (step % 50 == 0 || step == s.steps()) {
                    double secs = (System.nanoTime() - t0) / 1e9;
                    int done = step - first + 1;
                    LOG.info(String.format(Locale.ROOT, "step %d/%d  loss %.4f  balance %.4f  group %.4f  lr %.5f  %.0f tokens/s  ~%.0f min left",
                            step, s.steps(), lossSum / window, balanceSum / window, groupSum / window, lr, tokens / secs,
                            secs / done * (s.steps() - step) / 60));
                    Files.writeString(logFile, String.format(Locale.ROOT, "%d\t%.5f\t%.5f\t%.5f%n", step, lossSum / window,
                            balanceSum / window, groupSum / window), StandardOpenOption.APPEND);
                    lossSum = balanceSum = groupSum = 0;
                    window = 0;
                }
                boolean evaluate = step % s.evalEvery() == 0 || step == s.steps();
                if (evaluate) {
                    StringBuilder line = new StringBuilder().append(step).append("\t\t\t");
                    StringBuilder msg = new StringBuilder("step " + step + ": teacher-forced exact match");
                    for (var e : watched.entrySet()) {
                        double em = exactMatch(twin, root, e.getValue());
                        if (e.getKey().equals(watchedSplits.getFirst())) devMatch = em;
                        line.append('\t').append(String.format(Locale.ROOT, "%.4f", em));
                        msg.append(String.format(Locale.ROOT, "  %s %.3f", e.getKey().name(), em));
                    }
                    LOG.info(msg.toString());
                    Files.writeString(logFile, line.append('\n'), StandardOpenOption.APPEND);
                    stop = s.stopAtDev() > 0 && devMatch >= s.stopAtDev();
                }
                if (evaluate || System.nanoTime() - lastCheckpoint > s.checkpointMinutes() * 60e9) {
                    checkpoint(s, ckptFile, params, adam, step);
                    lastCheckpoint = System.nanoTime();
                }
                if (evaluate) export(s, twin, logFile);
                if (stop) {
                    // early stopping on dev: the model is the first one whose in-distribution dev accuracy reaches the target
                    new StopMarker(step, s.stopAtDev()).write(s);
                    LOG.info(String.format(Locale.ROOT, "dev exact match %.4f reached the target %s at step %d: stopping", devMatch, s.stopAtDev(), step));
                    break;
                }
            }
            LabCard.write(s, logFile, card(s), StopMarker.read(s));
            LOG.info("wrote {}, its training log and its model card", s.out());
        }
    }

    /** The model as it is now, and the training log beside it (every evaluation and the last step evaluate). */
    private static void export(Settings s, MoeTwin twin, Path logFile) throws IOException {
        Files.createDirectories(s.out().toAbsolutePath().getParent());
        twin.export(s.out(), "moe-adapter-lab2-" + s.shape().arch() + "-seed" + s.seed());
        Files.copy(logFile, Path.of(s.out() + ".training-log.tsv"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static void checkpoint(Settings s, Path file, Map<String, NDArray> params, Map<String, NDArray[]> adam, int step) throws IOException {
        Map<String, float[][]> state = new HashMap<>();
        params.forEach((k, p) -> state.put(k, new float[][] {p.toFloatArray(), adam.get(k)[0].toFloatArray(), adam.get(k)[1].toFloatArray()}));
        new TrainingCheckpoint(s.recipe(), step, state).save(file);
        LOG.info("checkpoint at step {} in {}", step, file);
    }

    /** Warm-up over the first 5% of steps, then cosine decay to 10% of the peak. */
    static float learningRate(float peak, int steps, int step) {
        int warm = Math.max(1, steps / 20);
        if (step <= warm) return peak * step / warm;
        double progress = (double) (step - warm) / Math.max(1, steps - warm);
        return (float) (peak * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress))));
    }

    /** Mean negative log-likelihood of {@code targets} over the positions where {@code mask} is 1. */
    static NDArray maskedNll(NDArray logits, NDArray targets, NDArray mask) {
        NDArray logp = logits.logSoftmax(-1).gather(targets.expandDims(-1), -1).squeeze(-1);
        return logp.mul(mask).sum().neg().div(mask.sum().add(1e-6f));
    }

    /**
     * Switch-Transformer load balancing, averaged over layers: E · Σ_i f_i · P_i over the valid
     * positions, f_i the share of top-k selections that fall on expert i (no gradient), P_i the mean
     * router probability of expert i. 1 when perfectly balanced.
     */
    static NDArray balanceLoss(List<NDArray> probs, NDArray valid, int topK) {
        NDArray total = null;
        NDArray w = valid.expandDims(-1);
        NDArray n = valid.sum().add(1e-6f);
        for (NDArray p : probs) {
            long experts = p.getShape().get(2);
            NDArray kth = p.topK(topK, -1).get(0).min(new int[] {-1}, true);
            NDArray selected = p.gte(kth).toType(DataType.FLOAT32, false).mul(w).stopGradient();
            NDArray f = selected.sum(new int[] {0, 1}).div(n.mul(topK));
            NDArray meanP = p.mul(w).sum(new int[] {0, 1}).div(n);
            NDArray l = f.mul(meanP).sum().mul(experts);
            total = total == null ? l : total.add(l);
        }
        return total.div(probs.size());
    }

    /** Mean over layers and own-tag positions of −log(router mass on the task's expert group). */
    static NDArray groupLoss(List<NDArray> probs, NDArray groups, LabBatch batch) {
        NDArray total = null;
        for (NDArray p : probs) {
            NDArray mass = p.matMul(groups).gather(batch.task().expandDims(-1), -1).squeeze(-1); // [B,T]
            NDArray l = mass.add(1e-6f).log().mul(batch.grouped()).sum().neg().div(batch.grouped().sum().add(1e-6f));
            total = total == null ? l : total.add(l);
        }
        return total.div(probs.size());
    }

    /** {@code [experts, tasks]}: 1 where expert e belongs to task t's group (experts split evenly over tasks). */
    static NDArray expertGroups(NDManager m, int experts) {
        int tasks = LabTask.Family.STRINGS.tasks().size(); // every family has eight tasks
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
            List<String> bad = grads.entrySet().stream().filter(g -> !Float.isFinite(g.getValue().square().sum().getFloat()))
                    .map(Map.Entry::getKey).sorted().toList();
            LOG.warn("step {}: non-finite gradient in {}, update skipped", step, bad);
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
    static double exactMatch(MoeTwin twin, NDManager root, List<LabItem> items) {
        int ok = 0;
        for (int from = 0; from < items.size(); from += 100) {
            List<LabItem> chunk = items.subList(from, Math.min(items.size(), from + 100));
            try (NDManager sub = root.newSubManager()) {
                twin.lendTo(sub);
                LabBatch b = LabBatch.of(sub, chunk);
                NDArray logits = twin.forward(b.tokens(), null).logits();
                NDArray right = logits.argMax(-1).eq(b.targets()).toType(DataType.FLOAT32, false);
                NDArray wrongAnswerTokens = right.neg().add(1).mul(b.answer()).sum(new int[] {1});
                for (float w : wrongAnswerTokens.toFloatArray()) ok += w == 0 ? 1 : 0;
            }
        }
        return (double) ok / items.size();
    }
}
