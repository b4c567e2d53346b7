package dev.moeadapter.samples.lab;

import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.rerouting.ReroutingDecoding;
import dev.moeadapter.rerouting.ReroutingSettings;
import dev.moeadapter.rerouting.RoundReport;
import dev.moeadapter.rerouting.RoutingShift;
import dev.moeadapter.samples.cli.Cli;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Rerouting's step control under its defaults, on a lab v2 split: one prefill round per prompt (the round that
 * adapts to the prompt). It should never end above the context loss it started from, and should still move: how many
 * rounds lowered the loss, by how much, and the routing shift (mean total variation of the prompt's router
 * distributions under the round's δ against none) over the prompts.
 * {@code StepControlLab MODEL.gguf SPLIT [limit] [--tasks strings|tables]}. A mechanism check, not an accuracy figure.
 */
public final class StepControlLab {
    private StepControlLab() {
    }

    public static void main(String[] args) throws Exception {
        Cli.run("lab steps", null, () -> {
            LabToolArgs a = LabToolArgs.parse(args);
            Path gguf = Path.of(a.required(0, "MODEL.gguf"));
            List<LabItem> items = a.items("40");
            int sequences = ReroutingSettings.DEFAULTS.sequencesNeeded();
            try (Model model = Model.load(ModelParams.of(gguf)); Session session = model.newSession(new SessionParams(64 * sequences, 256, sequences, 1, 1))) {
                int n = items.size(), lowered = 0, above = 0;
                double drop = 0;
                double[] shifts = new double[n];
                for (int i = 0; i < n; i++) {
                    int[] prompt = model.tokenize(items.get(i).prompt());
                    ReroutingDecoding scheme = new ReroutingDecoding(session, ReroutingSettings.DEFAULTS, new CancellationToken());
                    scheme.prefill(prompt, new CancellationToken());
                    scheme.release();
                    RoundReport r = scheme.rounds().getFirst();
                    lowered += r.endLoss() < r.startLoss() ? 1 : 0;
                    above += r.endLoss() > r.startLoss() ? 1 : 0;
                    drop += r.startLoss() - r.endLoss();
                    shifts[i] = RoutingShift.mean(session, prompt, scheme.plan());
                }
                double[] sorted = shifts.clone();
                Arrays.sort(sorted);
                double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
                System.out.printf(Locale.ROOT, "%s on %s, rerouting defaults, first round of %d prompts: %d lowered the context loss, %d ended above "
                        + "it (mean drop %.4f nats); routing shift median %.4f, max %.4f%n", gguf.getFileName(), a.required(1, "SPLIT"), n, lowered, above, drop / n,
                        median, sorted[n - 1]);
            }
        });
    }
}
