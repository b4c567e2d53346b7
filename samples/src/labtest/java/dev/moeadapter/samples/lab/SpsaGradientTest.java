package dev.moeadapter.samples.lab;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.optim.SpsaDescent;
import dev.moeadapter.core.optim.SpsaGains;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static dev.moeadapter.core.optim.Vectors.cosine;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The zeroth-order optimiser's gradient estimate against the exact gradient. Loss: the mean
 * next-token NLL of a lab prompt as a function of one router delta per (MoE layer, expert) — the
 * rerouting objective. Exact gradient: autograd through the PyTorch twin at δ = 0. Estimate: one
 * {@link SpsaDescent} step's ĝ with q directions, each probe's loss computed natively by
 * llama.cpp (our engine) under that probe's router edit. Cosines are printed for each q (mean over
 * prompts and seeds).
 */
class SpsaGradientTest {

    static final int[] QS = {1, 4, 16, 64};

    @ParameterizedTest
    @ValueSource(strings = {"lab-olmoe.gguf", "lab-mixtral.gguf"})
    void spsaDirectionAgreesWithTheExactGradient(String file) throws Exception {
        Path gguf = TwinParityTest.MODELS.resolve(file);
        List<LabItem> prompts = LabSuite.split(LabSuite.Split.DEV_SHIFTED).subList(0, 4);
        double[] meanCos = new double[QS.length];
        int seeds = 3;
        try (NDManager m = NDManager.newBaseManager(); MoeTwin twin = MoeTwin.load(gguf, m);
             Model model = Model.load(ModelParams.of(gguf));
             Session session = model.newSession(SessionParams.defaults().withContextSize(128).withBatchSize(128).withThreads(1))) {
            TwinShape s = twin.shape();
            int dim = s.layers() * s.experts();
            for (LabItem it : prompts) {
                int[] tokens = model.tokenize(it.prompt());
                float[] exact = exactGradient(twin, m, tokens);
                for (int qi = 0; qi < QS.length; qi++) {
                    for (long seed = 1; seed <= seeds; seed++) {
                        SpsaDescent spsa = new SpsaDescent(new float[dim], SpsaGains.DEFAULTS.withDirections(QS[qi]).withPerturbation(0.05f), seed);
                        List<float[]> points = spsa.points();
                        float[] losses = new float[points.size()];
                        for (int p = 0; p < losses.length; p++) losses[p] = nativeLoss(session, s, tokens, points.get(p));
                        meanCos[qi] += cosine(spsa.step(losses), exact) / (prompts.size() * seeds);
                    }
                }
            }
        }
        StringBuilder report = new StringBuilder(file + ": cosine(SPSA estimate, exact gradient) —");
        for (int qi = 0; qi < QS.length; qi++) report.append(String.format(Locale.ROOT, " q=%d: %.3f", QS[qi], meanCos[qi]));
        System.out.println(report);
        assertThat(meanCos[QS.length - 1]).as(report.toString()).isGreaterThan(0.3);
        assertThat(meanCos[QS.length - 1]).as(report.toString()).isGreaterThan(meanCos[0] + 0.2);
    }

    /** d(mean next-token NLL)/dδ at δ = 0, through the twin with hard top-k (the function SPSA probes). */
    static float[] exactGradient(MoeTwin twin, NDManager m, int[] tokens) {
        TwinShape s = twin.shape();
        try (NDManager sub = m.newSubManager()) {
            twin.lendTo(sub);
            long[] t = Arrays.stream(tokens).asLongStream().toArray();
            NDArray in = sub.create(Arrays.copyOf(t, t.length - 1), new Shape(1, t.length - 1));
            NDArray target = sub.create(Arrays.copyOfRange(t, 1, t.length), new Shape(1, t.length - 1));
            NDArray delta = sub.zeros(new Shape(1, s.layers(), s.experts()));
            delta.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logits = twin.forward(in, delta).logits();
                NDArray nll = logits.logSoftmax(-1).gather(target.expandDims(-1), -1).mean().neg();
                gc.backward(nll);
            }
            return delta.getGradient().toFloatArray();
        }
    }

    /** Mean next-token NLL of {@code tokens} computed by llama.cpp with {@code delta} added in every MoE layer. */
    static float nativeLoss(Session session, TwinShape s, int[] tokens, float[] delta) {
        List<RouterEdit> edits = new ArrayList<>();
        for (int l = 0; l < s.layers(); l++) {
            edits.add(new RouterEdit.AddDelta(l, Arrays.copyOfRange(delta, l * s.experts(), (l + 1) * s.experts()), PositionRange.ALL));
        }
        session.clear();
        session.setPlan(0, new RoutingPlan(edits));
        session.decode(Batch.allOutputs(0, 0, tokens));
        int[] rows = new int[tokens.length - 1], targets = new int[tokens.length - 1];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = i;
            targets[i] = tokens[i + 1];
        }
        float sum = 0;
        for (float v : session.nll(rows, targets)) sum += v;
        return sum / rows.length;
    }

}
