package dev.moeadapter.samples.lab;

import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.samples.eval.BenchmarkFile;
import dev.moeadapter.samples.eval.BenchmarkItem;
import dev.moeadapter.scmoe.ScmoeSettings;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code ./moe lab weak} on the first 40 items of lab v4's alias shift. */
class WeakViewLabTest {

    @Test
    void theWeakViewAloneAnswersAlmostNothingAndSCMoEsChangesAreCountedOnce() {
        List<BenchmarkItem> items = BenchmarkFile.read(Path.of("lab/v4/tasks/alias-dev.jsonl")).subList(0, 40);
        try (Model model = Model.load(ModelParams.of(Path.of("lab/v4/models/lab4-olmoe-seed1.gguf")));
             Session session = model.newSession(new SessionParams(256, 256, 2, 1, 1))) {
            WeakViewLab.Counts c = WeakViewLab.measure(model, session, items, ScmoeSettings.DEFAULTS);
            assertThat(c.items()).isEqualTo(40);
            // the weak view edits the routing: alone it answers a small share of what the model's own routing answers
            assertThat(c.strongRight()).isGreaterThan(10);
            assertThat(c.weakRight()).as("%s", c).isLessThan(c.strongRight() / 4);
            assertThat(c.sameAnswer()).isLessThan(c.items());
            // every answer SCMoE changed is counted once, as broken or fixed, and compared at most once
            assertThat(c.scmoeRight()).isEqualTo(c.strongRight() - c.broken() + c.fixed());
            assertThat(c.brokenWeakKnows() + c.fixedWeakKnows() + c.partAtEnd()).isLessThanOrEqualTo(c.broken() + c.fixed());
        }
    }
}
