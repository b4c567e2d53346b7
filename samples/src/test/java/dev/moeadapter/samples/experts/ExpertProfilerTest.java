package dev.moeadapter.samples.experts;

import dev.moeadapter.steering.SteeringFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The expert profiler on a lab v2 model (6 MoE layers of 32 experts, top-4), contrasting two tasks of the dev split. */
class ExpertProfilerTest {
    private static final String MODEL = "lab/v2/models/lab2-olmoe-seed1.gguf";
    private static final String DEV = "lab/v2/tasks/dev.jsonl";

    @TempDir
    Path dir;

    private ExpertsCommand.Outcome run(String taskA, String taskB, Path out) {
        return ExpertsCommand.profile(Map.of("model", MODEL, "a", DEV, "a-task", taskA, "b", DEV, "b-task", taskB, "limit", "25",
                "threads", "1", "ctx", "256", "out", out.toString()));
    }

    @Test
    void contrastsTwoTasksAndWritesSteeringAndHeatmap() throws Exception {
        ExpertsCommand.Outcome o = run("rev", "srt", dir);
        System.out.print(o.summary());
        ExpertProfile p = o.profile();
        assertThat(p.layers()).hasSize(6);
        double strongest = 0;
        for (int slot = 0; slot < p.layers().size(); slot++) {
            // every prompt token is routed in every layer (the last one too), to top-k experts
            assertThat(p.tokensA()[slot]).isEqualTo(p.tokensA()[0]).isGreaterThan(25 * 10);
            assertThat(p.tokensB()[slot]).isEqualTo(p.tokensB()[0]).isGreaterThan(25 * 10);
            double sumA = 0, sumB = 0;
            for (int e = 0; e < p.experts(); e++) {
                sumA += p.rateA(slot, e);
                sumB += p.rateB(slot, e);
                double d = p.riskDifference(slot, e), npmi = p.npmi(slot, e);
                strongest = Math.max(strongest, Math.abs(d));
                if (!Double.isNaN(npmi) && Math.abs(d) > 1e-12) {
                    assertThat(Math.signum(npmi)).as("layer slot %d expert %d", slot, e).isEqualTo(Math.signum(d));
                }
                assertThat(Double.isNaN(npmi) || (npmi >= -1 && npmi <= 1)).isTrue();
            }
            assertThat(sumA).isEqualTo(p.topK(), within(1e-9));
            assertThat(sumB).isEqualTo(p.topK(), within(1e-9));
        }
        // the two tasks reach different experts: in some layer an expert's rate differs by more than 0.3 (measured: 0.735)
        assertThat(strongest).isGreaterThan(0.3);

        assertThat(o.steering()).isNotEmpty();
        assertThat(SteeringFile.read(dir.resolve("steering.tsv"))).isEqualTo(o.steering());
        for (SteeringFile.Entry e : o.steering()) {
            int slot = p.layers().indexOf(e.layer());
            double d = p.riskDifference(slot, e.expert());
            assertThat(e.action()).isEqualTo(d > 0 ? SteeringFile.Action.PROMOTE : SteeringFile.Action.SUPPRESS);
            assertThat(e.strength()).isEqualTo(Math.abs(d), within(1e-12)).isGreaterThanOrEqualTo(0.05);
        }
        for (int layer : p.layers()) {
            for (SteeringFile.Action a : SteeringFile.Action.values()) {
                assertThat(o.steering().stream().filter(e -> e.layer() == layer && e.action() == a).count()).isLessThanOrEqualTo(p.topK());
            }
        }
        assertThat(Files.readAllLines(dir.resolve("profile.tsv"))).hasSize(1 + 6 * 32);
        String html = Files.readString(dir.resolve("heatmap.html"));
        assertThat(Pattern.compile("class='cell'").matcher(html).results().count()).isEqualTo(6 * 32);
    }

    @Test
    void aSetAgainstItselfHasNothingToSteer() {
        ExpertProfile p = run("rev", "rev", dir).profile();
        for (int slot = 0; slot < p.layers().size(); slot++) {
            for (int e = 0; e < p.experts(); e++) {
                assertThat(p.riskDifference(slot, e)).isZero();
                double npmi = p.npmi(slot, e);
                assertThat(Double.isNaN(npmi) ? 0 : npmi).isEqualTo(0, within(1e-12));
            }
        }
        assertThat(p.steering(4, 0.0001)).isEmpty();
    }
}
