package dev.moeadapter.samples.lab;

import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.samples.eval.BenchmarkFile;
import dev.moeadapter.samples.eval.BenchmarkItem;
import dev.moeadapter.samples.experts.ExpertProfile;
import dev.moeadapter.steering.SteeringFile;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The causal-check machinery of {@code ./moe lab experts} on one lab v2 model and a handful of items. */
class LabExpertsTest {
    private static final Path TASKS = Path.of("lab/v2/tasks");

    @Test
    void maskingATasksNamedExpertsBreaksItAndAZeroSteeringFileChangesNothing() {
        try (Model model = Model.load(ModelParams.of(Path.of("lab/v2/models/lab2-olmoe-seed1.gguf")));
             Session session = model.newSession(new SessionParams(256, 256, 1, 1, 1))) {
            LabExperts lab = new LabExperts(model, session);
            // the ref split interleaves the eight tasks: its first 80 items are 10 per task
            Map<String, ExpertProfile> profiles = lab.profiles(BenchmarkFile.read(TASKS.resolve("ref.jsonl")).subList(0, 80));
            assertThat(profiles).hasSize(8);
            List<SteeringFile.Entry> named = lab.named(profiles.get("rev"), 0);
            assertThat(named).isNotEmpty().allMatch(e -> e.action() == SteeringFile.Action.PROMOTE && e.strength() >= LabExperts.MIN_DIFFERENCE);
            assertThat(java.util.Arrays.stream(lab.perLayer(named)).max().orElseThrow()).isLessThanOrEqualTo(model.info().expertsUsed());

            List<BenchmarkItem> rev = BenchmarkFile.read(TASKS.resolve("dev.jsonl")).stream().filter(i -> i.task().equals("rev")).limit(6).toList();
            String[] base = lab.answers(rev, it -> RoutingPlan.EMPTY);
            boolean[] baseRight = LabExperts.correct(rev, base);
            RoutingPlan mask = lab.mask(named);
            assertThat(mask.isEmpty()).isFalse();
            boolean[] maskedRight = LabExperts.correct(rev, lab.answers(rev, it -> mask));
            // masking every named reversal expert turns at least one right reversal answer wrong (measured on the full run: most of them)
            int broken = 0;
            for (int i = 0; i < rev.size(); i++) broken += baseRight[i] && !maskedRight[i] ? 1 : 0;
            assertThat(broken).as("base right %s, masked right %s", java.util.Arrays.toString(baseRight), java.util.Arrays.toString(maskedRight))
                    .isGreaterThan(0);

            // the same experts at strength 0: no edit at all, and answers bit for bit the base's
            List<SteeringFile.Entry> zeros = named.stream().map(e -> new SteeringFile.Entry(e.layer(), e.expert(), e.action(), 0)).toList();
            RoutingPlan none = lab.promote(zeros, 1f);
            assertThat(none.isEmpty()).isTrue();
            assertThat(lab.answers(rev, it -> none)).containsExactly(base);

            // the random control draws as many experts per layer as were named, the same ones for the same seed
            List<SteeringFile.Entry> random = lab.randomLike(named, new Random(LabExperts.SEED), false);
            assertThat(lab.perLayer(random)).containsExactly(lab.perLayer(named));
            assertThat(lab.randomLike(named, new Random(LabExperts.SEED), false)).isEqualTo(random);
            // the unnamed control never draws a named expert
            List<SteeringFile.Entry> unnamed = lab.randomLike(named, new Random(LabExperts.SEED), true);
            assertThat(lab.perLayer(unnamed)).containsExactly(lab.perLayer(named));
            assertThat(unnamed).noneMatch(u -> named.stream().anyMatch(e -> e.layer() == u.layer() && e.expert() == u.expert()));
        }
    }

    @Test
    void replacesOnlyItsOwnSection() {
        String doc = "# Experts\n\nintro\n\n## Causal check on lab v2\n\nold figures\n\n## Later\n\nkept\n";
        String out = LabExperts.replaceSection(doc, LabExperts.SECTION + "\n\nnew figures\n");
        assertThat(out).isEqualTo("# Experts\n\nintro\n\n## Causal check on lab v2\n\nnew figures\n\n## Later\n\nkept\n");
        assertThat(LabExperts.replaceSection("# Experts\n", LabExperts.SECTION + "\n\nx\n")).isEqualTo("# Experts\n\n## Causal check on lab v2\n\nx\n");
    }
}
