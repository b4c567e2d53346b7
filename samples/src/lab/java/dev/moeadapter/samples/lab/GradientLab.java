package dev.moeadapter.samples.lab;

import dev.moeadapter.core.engine.FlashAttention;
import dev.moeadapter.core.engine.KvCacheType;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.optim.SpsaGains;
import dev.moeadapter.rerouting.GradientCheck;
import dev.moeadapter.samples.cli.Cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Whether rerouting's SPSA estimate of the context loss's gradient is unbiased: {@link GradientCheck} on the
 * split's first prompts, and on the first prompts whose router margin exceeds 2h, where the loss is smooth at the
 * scale h and a gradient exists to compare with. Per prompt: the margin, the cosine between the mean of N SPSA
 * directions and central differences, and both norms.
 * <ul>
 *   <li>N is about 16 d ({@link GradientCheck#rounds}).</li>
 *   <li>Batch-invariant kernels (flash attention off, f32 KV cache): the finite-difference pairs and the SPSA points
 *       run in batches of different shapes, and llama.cpp's default kernels would add their own noise to every loss
 *       difference.</li>
 * </ul>
 * {@code GradientLab MODEL.gguf SPLIT [h] [items] [--tasks strings|tables]} (defaults h 0.001, 2 items of each kind); the lab v2 split names
 * for the v2 models. A mechanism check, not an accuracy figure.
 */
public final class GradientLab {
    /** Prompts scanned for a margin above 2h. */
    private static final int SCANNED = 200;

    private GradientLab() {
    }

    public static void main(String[] args) throws Exception {
        Cli.run("lab gradient", null, () -> {
            LabToolArgs a = LabToolArgs.parse(args);
            Path gguf = Path.of(a.required(0, "MODEL.gguf"));
            String splitName = a.required(1, "SPLIT");
            float h = Float.parseFloat(a.at(2, "0.001"));
            int perKind = Integer.parseInt(a.at(3, "2"));
            List<LabItem> split = a.split(splitName);
            SessionParams params = new SessionParams(64 * GradientCheck.SEQUENCES, 256, GradientCheck.SEQUENCES, 1, 1, FlashAttention.OFF,
                    KvCacheType.F32);
            try (Model model = Model.load(ModelParams.of(gguf)); Session session = model.newSession(params)) {
                int d = model.info().moeLayers().size() * model.info().experts();
                int rounds = GradientCheck.rounds(model.info());
                double[] margins = new double[Math.min(SCANNED, split.size())];
                List<Integer> chosen = new ArrayList<>();
                int smooth = 0;
                for (int i = 0; i < margins.length; i++) {
                    margins[i] = GradientCheck.routerMargin(session, model.info(), model.tokenize(split.get(i).prompt()));
                    if (i < perKind) {
                        chosen.add(i);
                    } else if (margins[i] > 2 * h && smooth < perKind) {
                        chosen.add(i);
                    }
                    if (margins[i] > 2 * h) {
                        smooth++;
                    }
                }
                System.out.printf(Locale.ROOT, "%s on %s: h %s, d %d, %d SPSA directions; %d of the first %d prompts have a router margin above 2h%n",
                        gguf.getFileName(), splitName, h, d, rounds * SpsaGains.MAX_DIRECTIONS, smooth, margins.length);
                System.out.println("item\tmargin\tsmooth\tcosine\tspsa_norm\tfd_norm");
                for (int i : chosen) {
                    GradientCheck.Result r = GradientCheck.spsaAgainstFiniteDifferences(session, model.info(), model.tokenize(split.get(i).prompt()), h, rounds);
                    System.out.printf(Locale.ROOT, "%d\t%.5f\t%s\t%.3f\t%.4f\t%.4f%n", i, margins[i], margins[i] > 2 * h ? "yes" : "no", r.cosine(),
                            r.spsaNorm(), r.finiteDifferenceNorm());
                }
            }
        });
    }
}
