package dev.moeadapter.core.doctor;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.MoeAdapterException;
import dev.moeadapter.core.adaptation.ModelRequirements;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.LayerRouting;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelCheck;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Checks, on a user's model, that llama.cpp loads it and that every routing edit does what the
 * README's gating-family table says, on the first MoE layer with a router (which sees the same input
 * with and without an edit), and which adaptation methods it runs: each method's
 * {@link ModelRequirements}, the statement the service checks its arms against at startup.
 * {@code ./moe doctor --model F.gguf} prints one verdict per check.
 */
public final class Doctor {
    private static final String PROMPT = "The quick brown fox jumps over the lazy dog";
    private static final float TOLERANCE = 1e-3f;

    public enum Status { PASS, FAIL, REFUSED }

    public record Verdict(String check, Status status, String detail) {}

    private final Model model;
    private final ModelInfo info;
    private final int[] prompt;
    private final List<Verdict> verdicts = new ArrayList<>();

    private Doctor(Model model) {
        this.model = model;
        this.info = model.info();
        this.prompt = model.tokenize(PROMPT);
    }

    /**
     * Every verdict for the model at {@code path}, the last ones whether each of {@code methods} runs
     * on it (PASS) or not (REFUSED, with the reason); a model that does not load gives one FAIL.
     */
    public static List<Verdict> examine(Path path, List<ModelRequirements> methods) {
        ModelCheck check = ModelCheck.of(path.toAbsolutePath());
        if (!check.loads()) {
            return List.of(new Verdict("load", Status.FAIL, check.loadError().orElseThrow()));
        }
        try (Model m = Model.load(ModelParams.of(path))) {
            Doctor d = new Doctor(m);
            d.verdicts.add(new Verdict("load", Status.PASS, describe(m.info())));
            // the model serves without it: only what reads hidden states (C3PO's hidden-state embedder) is refused
            d.verdicts.add(check.embeddingsError().map(e -> new Verdict("embeddings mode", Status.REFUSED,
                            "hidden states cannot be read (C3PO's hidden-state embedder is refused; the model serves): " + e))
                    .orElse(new Verdict("embeddings mode", Status.PASS, "")));
            d.run();
            for (ModelRequirements r : methods) {
                d.verdicts.add(r.refusal(m.info()).map(reason -> new Verdict("method " + r.method(), Status.REFUSED, reason))
                        .orElse(new Verdict("method " + r.method(), Status.PASS, "")));
            }
            return List.copyOf(d.verdicts);
        }
    }

    private static String describe(ModelInfo i) {
        return String.format(Locale.ROOT, "%s, %d layers, %d MoE layers, %d experts, top-%d, gating %s, renormalised %s, selection bias %s, "
                        + "%s memory", i.architecture(), i.layers(), i.moeLayers().size(), i.experts(), i.expertsUsed(), i.gating(),
                i.renormalized(), i.selectionBias(), i.memory().name().toLowerCase(Locale.ROOT));
    }

    private void run() {
        if (!info.isMoe()) {
            verdicts.add(new Verdict("routing edits", Status.REFUSED, "a dense model has no router"));
            return;
        }
        LayerRouting layer = info.routing().stream().filter(LayerRouting::hasRouter).findFirst().orElse(null);
        if (layer == null) {
            verdicts.add(new Verdict("routing edits", Status.REFUSED, "every MoE layer is hash-routed"));
            return;
        }
        int l = layer.layer();
        RouterTrace base = trace(RoutingPlan.EMPTY);
        check("deterministic decode", () -> Arrays.deepEquals(logits(RoutingPlan.EMPTY), logits(RoutingPlan.EMPTY)) ? "" : "two decodes differ");
        check("force an expert (AddDelta +100)", () -> force(base, l));
        check("keep rank 2 (KeepRank)", () -> keepRank(base, layer));
        check("keep top 2 (KeepTop)", () -> keepTop(base, layer));
        check("replace the distribution (ReplaceDistribution)", () -> replace(l));
        check("mask an expert (ExpertMask)", () -> mask(base, l));
        check("scale weights, raw top-1 (ScaleWeights)", () -> scale(base, l));
        check("promote and suppress experts (Steer)", () -> steer(base, l));
        check("top-p over the selected experts (TopP)", () -> topP(base, l));
        check("an edited sequence leaves its neighbour bit-identical", () -> isolation(l));
    }

    /** Runs a check: empty detail is a pass, other text a failure, a refused edit its reason. */
    private void check(String name, Supplier<String> body) {
        try {
            String problem = body.get();
            verdicts.add(new Verdict(name, problem.isEmpty() ? Status.PASS : Status.FAIL, problem));
        } catch (InvalidRequestException e) {
            verdicts.add(new Verdict(name, Status.REFUSED, e.getMessage()));
        } catch (MoeAdapterException e) {
            verdicts.add(new Verdict(name, Status.FAIL, e.getMessage()));
        }
    }

    private Session open(int sequences) {
        return model.newSession(new SessionParams(Math.max(64, 2 * prompt.length + 8), Math.max(32, 2 * prompt.length), sequences, 1, 1));
    }

    private RouterTrace trace(RoutingPlan plan) {
        try (Session s = open(1)) {
            s.setPlan(0, plan);
            s.setTrace(0, TraceSpec.ROUTES);
            s.decode(Batch.allOutputs(0, 0, prompt));
            return s.drainTrace();
        }
    }

    private float[][] logits(RoutingPlan plan) {
        try (Session s = open(1)) {
            s.setPlan(0, plan);
            s.decode(Batch.allOutputs(0, 0, prompt));
            float[][] out = new float[prompt.length][];
            for (int i = 0; i < prompt.length; i++) {
                out[i] = s.logits(i);
            }
            return out;
        }
    }

    private static List<TokenRoute> routes(RouterTrace t, int layer) {
        return t.routes().stream().filter(r -> r.layer() == layer).toList();
    }

    private String force(RouterTrace base, int l) {
        int[] first = new int[info.experts()];
        routes(base, l).forEach(r -> first[r.experts()[0]]++);
        int expert = 0;
        for (int x = 1; x < first.length; x++) {
            if (first[x] < first[expert]) {
                expert = x;
            }
        }
        float[] delta = new float[info.experts()];
        delta[expert] = 100f;
        for (TokenRoute r : routes(trace(RoutingPlan.of(new RouterEdit.AddDelta(l, delta, PositionRange.ALL))), l)) {
            if (r.experts()[0] != expert) {
                return "position " + r.position() + " selected " + r.experts()[0] + " first, not the forced " + expert;
            }
        }
        return "";
    }

    private String keepRank(RouterTrace base, LayerRouting layer) {
        int l = layer.layer();
        for (TokenRoute w : routes(trace(RoutingPlan.of(new RouterEdit.KeepRank(l, 2, PositionRange.ALL))), l)) {
            TokenRoute b = base.route(0, w.position(), l).orElseThrow();
            if (w.experts()[0] != b.experts()[1]) {
                return "position " + w.position() + " leads with " + w.experts()[0] + ", the model's second choice is " + b.experts()[1];
            }
            for (int j = 1; j < w.weights().length; j++) {
                if (w.weights()[j] > TOLERANCE) {
                    return "position " + w.position() + " slot " + j + " kept weight " + w.weights()[j];
                }
            }
        }
        return "";
    }

    private String keepTop(RouterTrace base, LayerRouting layer) {
        int l = layer.layer();
        for (TokenRoute w : routes(trace(RoutingPlan.of(new RouterEdit.KeepTop(l, 2, PositionRange.ALL))), l)) {
            TokenRoute b = base.route(0, w.position(), l).orElseThrow();
            if (w.experts()[0] != b.experts()[0] || (w.experts().length > 1 && w.experts()[1] != b.experts()[1])) {
                return "position " + w.position() + " kept " + Arrays.toString(w.experts()) + ", the model chose " + Arrays.toString(b.experts());
            }
            for (int j = 2; j < w.weights().length; j++) {
                if (w.weights()[j] > TOLERANCE) {
                    return "position " + w.position() + " slot " + j + " kept weight " + w.weights()[j];
                }
            }
        }
        return "";
    }

    private String replace(int l) {
        int e = info.experts(), k = info.expertsUsed();
        float[] omega = new float[e];
        float sum = 0;
        for (int i = 0; i < e; i++) {
            omega[i] = 1f + (i * 7 % e);
            sum += omega[i];
        }
        for (int i = 0; i < e; i++) {
            omega[i] /= sum;
        }
        Integer[] order = new Integer[e];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> Float.compare(omega[b], omega[a]));
        for (TokenRoute r : routes(trace(RoutingPlan.of(new RouterEdit.ReplaceDistribution(l, omega, PositionRange.ALL))), l)) {
            float selected = 0, weights = 0;
            for (int j = 0; j < k; j++) {
                if (r.experts()[j] != order[j]) {
                    return "position " + r.position() + " rank " + (j + 1) + " is expert " + r.experts()[j] + ", ω ranks " + order[j];
                }
                selected += omega[order[j]];
                weights += r.weights()[j];
            }
            // the weights are ω's entries up to the model's own renormalisation and scale
            for (int j = 0; j < k; j++) {
                float want = omega[order[j]] / selected, got = r.weights()[j] / weights;
                if (Math.abs(want - got) > TOLERANCE) {
                    return "position " + r.position() + " slot " + j + " weighs " + got + " of the mix, ω gives " + want;
                }
            }
        }
        return "";
    }

    private String mask(RouterTrace base, int l) {
        int popular = routes(base, l).getFirst().experts()[0];
        for (TokenRoute r : routes(trace(RoutingPlan.of(RouterEdit.ExpertMask.deny(l, info.experts(), PositionRange.ALL, popular))), l)) {
            if (r.weightOf(popular) > TOLERANCE) {
                return "position " + r.position() + " gave the denied expert " + popular + " weight " + r.weightOf(popular);
            }
        }
        return "";
    }

    private String scale(RouterTrace base, int l) {
        RoutingPlan plan = RoutingPlan.of(RouterEdit.ScaleWeights.keepTop(l, info.expertsUsed(), 1, PositionRange.ALL));
        for (TokenRoute w : routes(trace(plan), l)) {
            TokenRoute b = base.route(0, w.position(), l).orElseThrow();
            if (Math.abs(w.weights()[0] - b.weights()[0]) > TOLERANCE * Math.max(1f, Math.abs(b.weights()[0]))) {
                return "position " + w.position() + " first weight " + w.weights()[0] + ", unedited " + b.weights()[0];
            }
            for (int j = 1; j < w.weights().length; j++) {
                if (w.weights()[j] != 0f) {
                    return "position " + w.position() + " slot " + j + " kept weight " + w.weights()[j];
                }
            }
        }
        return "";
    }

    /** SteerMoE's rule: the least-often-first expert leads every token, the most popular one is never selected. */
    private String steer(RouterTrace base, int l) {
        int popular = routes(base, l).getFirst().experts()[0];
        int[] first = new int[info.experts()];
        routes(base, l).forEach(r -> first[r.experts()[0]]++);
        int rare = popular == 0 ? 1 : 0;
        for (int x = 0; x < first.length; x++) {
            if (x != popular && first[x] < first[rare]) {
                rare = x;
            }
        }
        float[] offsets = new float[info.experts()];
        offsets[rare] = 0.01f;
        offsets[popular] = -0.01f;
        for (TokenRoute r : routes(trace(RoutingPlan.of(new RouterEdit.Steer(l, offsets, PositionRange.ALL))), l)) {
            if (r.experts()[0] != rare) {
                return "position " + r.position() + " leads with expert " + r.experts()[0] + ", promoted " + rare;
            }
            for (int x : r.experts()) {
                if (x == popular) {
                    return "position " + r.position() + " selected the suppressed expert " + popular;
                }
            }
        }
        return "";
    }

    /** Top-p 0.5 keeps at least one expert per token, never adds one, and drops some somewhere. */
    private String topP(RouterTrace base, int l) {
        int dropped = 0;
        for (TokenRoute r : routes(trace(RoutingPlan.of(new RouterEdit.TopP(l, 0.5f, PositionRange.ALL))), l)) {
            TokenRoute b = base.route(0, r.position(), l).orElseThrow();
            if (!Arrays.equals(r.experts(), b.experts())) {
                return "position " + r.position() + " changed the selection";
            }
            int kept = r.answering();
            if (kept == 0) {
                return "position " + r.position() + " kept no expert";
            }
            dropped += r.weights().length - kept;
        }
        return info.expertsUsed() > 1 && dropped == 0 ? "no token dropped an expert" : "";
    }

    /** Two sequences interleaved in one batch, sequence 1 edited or not: sequence 0 must not notice. */
    private String isolation(int l) {
        float[][] plain = pair(RoutingPlan.EMPTY), edited = pair(RoutingPlan.of(new RouterEdit.KeepRank(l, 2, PositionRange.ALL)));
        for (int i = 0; i < prompt.length; i++) {
            if (!Arrays.equals(plain[2 * i], edited[2 * i])) {
                return "the unedited sequence's logits at position " + i + " changed";
            }
        }
        return Arrays.equals(plain[2 * prompt.length - 1], edited[2 * prompt.length - 1]) ? "the edited sequence did not change" : "";
    }

    // the same layout both times: the batch layout alone may change the last bits of the logits
    private float[][] pair(RoutingPlan second) {
        try (Session s = open(2)) {
            s.setPlan(1, second);
            Batch.Builder both = Batch.builder();
            for (int i = 0; i < prompt.length; i++) {
                both.add(prompt[i], i, 0, true);
                both.add(prompt[i], i, 1, true);
            }
            s.decode(both.build());
            float[][] out = new float[2 * prompt.length][];
            for (int i = 0; i < out.length; i++) {
                out[i] = s.logits(i);
            }
            return out;
        }
    }

    /** Prints {@code verdicts}, one a line; true if none failed. */
    public static boolean print(List<Verdict> verdicts) {
        for (Verdict v : verdicts) {
            System.out.printf(Locale.ROOT, "%-8s %-55s %s%n", v.status(), v.check(), v.detail());
        }
        return verdicts.stream().noneMatch(v -> v.status() == Status.FAIL);
    }
}
