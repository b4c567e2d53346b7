package dev.moeadapter.samples.lab;

import dev.moeadapter.c3po.CharNgramEmbedder;
import dev.moeadapter.samples.lab.LabPurity.Purity;
import dev.moeadapter.samples.lab.LabSuiteV2.Part;
import dev.moeadapter.samples.lab.LabSuiteV2.Shift;
import dev.moeadapter.samples.lab.LabSuiteV2.Split;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The neighbour purity of {@code ./moe lab purity}: by hand on a tiny example, and for real on the lab v2 suite. */
class LabPurityTest {

    private static final List<float[]> REFS = List.of(new float[] {1, 0}, new float[] {0.9f, 0.1f}, new float[] {0, 1}, new float[] {0.1f, 0.9f});
    private static final List<String> REF_TASKS = List.of("a", "a", "b", "b");

    @Test
    void countsTheNeighboursOfTheQuerysTaskAndTheMajority() {
        // (1, 0.05): nearest (1, 0) and (0.9, 0.1) of a, then (0.1, 0.9) of b; (0, 1): both b's first
        List<float[]> queries = List.of(new float[] {1, 0.05f}, new float[] {0, 1}, new float[] {1, 0.05f});
        Purity k2 = LabPurity.purity(REFS, REF_TASKS, queries, List.of("a", "b", "b"), 2);
        assertThat(k2.neighbours()).isEqualTo(6);
        assertThat(k2.same()).isEqualTo(4); // a: 2 of 2, b at (0, 1): 2 of 2, b at (1, 0.05): 0 of 2
        assertThat(k2.majorityRight()).isEqualTo(2);
        assertThat(k2.purity()).isEqualTo(4 / 6.0);
        assertThat(k2.majority()).isEqualTo(2 / 3.0);

        Purity k3 = LabPurity.purity(REFS, REF_TASKS, List.of(new float[] {1, 0.05f}), List.of("a"), 3);
        assertThat(k3.same()).isEqualTo(2);
        assertThat(k3.neighbours()).isEqualTo(3);
        assertThat(k3.majorityRight()).isEqualTo(1);
    }

    @Test
    void aTieGoesToTheTaskOfTheNearestNeighbour() {
        // k = 2 of 2 references: every query has one neighbour of each task, so the majority is a tie
        Purity p = LabPurity.purity(List.of(new float[] {1, 0}, new float[] {0, 1}), List.of("a", "b"),
                List.of(new float[] {0.8f, 0.6f}, new float[] {0.6f, 0.8f}), List.of("b", "b"), 2);
        assertThat(p.same()).isEqualTo(2);
        assertThat(p.majorityRight()).as("1 a + 1 b: the nearer decides (a for the first query, b for the second)").isEqualTo(1);
    }

    @Test
    void topKKeepsTheLargestInOrderAndEarlierOnTies() {
        assertThat(LabPurity.topK(new double[] {0.1, 0.9, 0.5, 0.9, 0.7}, 3)).containsExactly(1, 3, 4);
        assertThat(LabPurity.topK(new double[] {0.3, 0.2}, 2)).containsExactly(0, 1);
    }

    @Test
    void charTrigramsFindSameTaskNeighboursWhenEveryPromptCarriesItsOwnTag() {
        // the long shift keeps every item's own tag (in distribution only half carry it, the rest none or a wrong one)
        Map<Split, Purity> p = LabPurity.modelFree(new CharNgramEmbedder(), Path.of("lab/v2/tasks"), Shift.LONG, 3);
        Purity dev = p.get(new Split(Shift.LONG, Part.DEV));
        assertThat(dev.queries()).isEqualTo(400);
        assertThat(dev.neighbours()).isEqualTo(1200);
        assertThat(dev.purity()).as("8 tasks: chance 1/8").isGreaterThan(0.5);
        assertThat(dev.majority()).isGreaterThan(0.5);
    }

    @Test
    void regeneratingKeepsWhatThePageHoldsOutsideTheMarkers(@TempDir Path dir) throws Exception {
        Path doc = dir.resolve("purity.md");
        LabPurity.writeSection(doc, "table one\n");
        Files.writeString(doc, Files.readString(doc) + "\n## Reading\n\nhand-written\n");
        LabPurity.writeSection(doc, "table two\n");
        String text = Files.readString(doc);
        assertThat(text).contains("table two").doesNotContain("table one").contains("hand-written")
                .contains(LabPurity.BEGIN).contains(LabPurity.END);
    }
}
