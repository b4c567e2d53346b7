package dev.moeadapter.samples.lab;

import dev.moeadapter.c3po.Adaptation;
import dev.moeadapter.c3po.Algorithm;
import dev.moeadapter.c3po.C3poSettings;
import dev.moeadapter.c3po.C3poStrategy;
import dev.moeadapter.c3po.CharNgramEmbedder;
import dev.moeadapter.c3po.Embedder;
import dev.moeadapter.c3po.HiddenStateEmbedder;
import dev.moeadapter.c3po.Neighbour;
import dev.moeadapter.c3po.ReferenceSet;
import dev.moeadapter.c3po.ReferenceSetBuilder;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * C3PO's neighbour purity per embedder on the shipped OLMoE-style lab model: the share of a query's
 * neighbours that belong to its own task, with a reference set of 160 reference-split items built
 * by each embedder, over 40 dev and 40 dev-shifted queries (k = 3). Chance is 1/8. A mechanism
 * figure for choosing an embedder, not an accuracy claim.
 */
class NeighbourPurityTest {
    private static final int REFERENCES = 160, QUERIES = 40;

    @Test
    void bothEmbeddersFindNeighboursOfTheQuerysTaskInDistribution(@TempDir Path dir) {
        try (Model model = Model.load(ModelParams.of(Path.of("lab/models/lab-olmoe.gguf")))) {
            List<LabItem> refs = LabSuite.split(LabSuite.Split.REFERENCE).subList(0, REFERENCES);
            List<ReferenceSetBuilder.Example> examples = refs.stream()
                    .map(it -> new ReferenceSetBuilder.Example(it.task().name() + "-" + it.id(), it.prompt(), 12, List.of("\n"),
                            text -> text.strip().equals(it.answer())))
                    .toList();
            StringBuilder report = new StringBuilder("C3PO neighbour purity on lab-olmoe (k = 3, " + REFERENCES + " references, chance 0.125):");
            for (Embedder embedder : List.of(new HiddenStateEmbedder(), new CharNgramEmbedder())) {
                Path file = dir.resolve(embedder.id() + ".c3po");
                try (Session s = model.newSession(new SessionParams(512, 128, 1, 1, 1))) {
                    new ReferenceSetBuilder(model, s, embedder, 8, 1000).build(examples, file);
                }
                C3poSettings settings = C3poSettings.DEFAULTS.withAlgorithm(new Algorithm.PaperKernelRegression());
                try (ReferenceSet set = ReferenceSet.load(file, model); Session s = model.newSession(new SessionParams(512, 128, 2, 1, 1))) {
                    C3poStrategy c3po = new C3poStrategy(set, embedder, settings);
                    for (LabSuite.Split split : List.of(LabSuite.Split.DEV, LabSuite.Split.DEV_SHIFTED)) {
                        int same = 0, all = 0;
                        for (LabItem q : LabSuite.split(split).subList(0, QUERIES)) {
                            Adaptation a = c3po.adapt(s, model.tokenize(q.prompt()), new CancellationToken());
                            for (Neighbour n : a.neighbours()) {
                                same += n.id().startsWith(q.task().name() + "-") ? 1 : 0;
                                all++;
                            }
                        }
                        double purity = (double) same / all;
                        report.append(String.format(Locale.ROOT, " %s on %s %.3f (%d/%d);", embedder.id(), split.fileName(), purity, same, all));
                        if (split == LabSuite.Split.DEV) {
                            assertThat(purity).as("%s in distribution", embedder.id()).isGreaterThan(0.25);
                        }
                    }
                }
            }
            System.out.println(report);
        }
    }
}
