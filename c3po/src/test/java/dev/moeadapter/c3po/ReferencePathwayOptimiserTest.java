package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.generation.CancellationToken;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The optional recipe for reference pathways on the shipped lab model (version 1), which answers its
 * dev split and fails its misleadingly tagged one: the pathway it fits to a gold answer never scores
 * worse than the prompt's own, is a distribution per layer, and keeps references the paper's recipe drops.
 */
class ReferencePathwayOptimiserTest {
    /** Lab items (samples/lab/tasks): the base answers the dev ones correctly and the dev-shifted ones wrongly. */
    private static final List<ReferenceSetBuilder.Example> ITEMS = List.of(
            lab("dev-0", "REV:bce=ecb,habah=habah,ehgd=", "dghe"),
            lab("dev-1", "SRT:chahee=aceehh,cdadba=aabcdd,geche=", "ceegh"),
            lab("dev-shifted-5", "ROR:dab=cha,aahgec=hhgfdb,dbh=", "cag"),
            lab("dev-shifted-9", "SWP:ahh=ahh,ecge=ceeg,def=", "def"),
            lab("dev-shifted-18", "SRT:eeg=ege,hcddac=cddach,gge=", "geg"));
    private static final List<String> ANSWERED_WRONGLY = List.of("dev-shifted-5", "dev-shifted-9", "dev-shifted-18");
    private static final int ANSWER_TOKENS = 8;
    private static final ReferencePathwayOptimiser.Settings FEW_STEPS = ReferencePathwayOptimiser.Settings.DEFAULTS.withSteps(5);

    private static Model model;

    @BeforeAll
    static void load() {
        model = Model.load(ModelParams.of(Path.of("../samples/lab/models/lab-olmoe.gguf")));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void theGoldAnswerIsScoredAsItContinuesThePrompt() {
        ReferenceSetBuilder.Example item = ITEMS.get(2);
        int[] prompt = model.tokenize(item.prompt());
        int[] gold = ReferenceSetBuilder.goldTokens(model, item, prompt, ANSWER_TOKENS);
        assertThat(model.detokenize(gold)).isEqualTo("cag");
        // on its own the text gets SentencePiece's space prefix, a token the model never writes after "="
        assertThat(model.detokenize(model.tokenize("cag", false, false))).isEqualTo(" cag");
        assertThat(ReferenceSetBuilder.goldTokens(model, item, prompt, 2)).hasSize(2);
    }

    @Test
    void theOptimisedPathwayNeverScoresAboveTheOwnPathwayAndIsADistributionPerLayer() {
        int layers = model.info().moeLayers().size(), experts = model.info().experts();
        try (Session s = Fixtures.session(model, FEW_STEPS.sequencesNeeded())) {
            ReferencePathwayOptimiser optimiser = new ReferencePathwayOptimiser(s, FEW_STEPS);
            for (ReferenceSetBuilder.Example item : ITEMS) {
                int[] prompt = model.tokenize(item.prompt());
                int[] gold = ReferenceSetBuilder.goldTokens(model, item, prompt, ANSWER_TOKENS);
                float[] own = PromptProbe.run(s, 0, prompt, false, new CancellationToken()).pathway();
                ReferencePathwayOptimiser.Result r = optimiser.optimise(prompt, own, gold, new CancellationToken());
                assertThat(s.maxPosition(0)).as("%s: the answering sequence is left alone", item.id()).isEqualTo(prompt.length - 1);

                assertThat(r.loss()).as(item.id()).isLessThanOrEqualTo(r.baseLoss());
                if (ANSWERED_WRONGLY.contains(item.id())) {
                    assertThat(r.loss()).as("%s: the descent lowers a wrong answer's gold loss", item.id()).isLessThan(r.baseLoss());
                }
                // scored again, both in one batch: the result is no worse than ω0 (to the engine's batch-to-batch rounding)
                CriticalRegion everywhere = CriticalRegion.of(model.info().moeLayers(), experts, own, layers, experts);
                NeighbourLoss loss = new NeighbourLoss(s, List.of(new NeighbourLoss.Scored(item.id(), prompt, gold, 1)), everywhere,
                        gold.length, FEW_STEPS.injection(), 1, new CancellationToken());
                double[] again = loss.evaluate(List.of(everywhere.own(), r.rows()));
                loss.release();
                assertThat(again[0]).as("%s: ω0's loss", item.id()).isCloseTo(r.baseLoss(), within(1e-5));
                assertThat(again[1]).as(item.id()).isLessThanOrEqualTo(again[0] + 1e-5);

                float[] pathway = r.pathway();
                assertThat(pathway).hasSize(layers * experts);
                for (int l = 0; l < layers; l++) {
                    double sum = 0;
                    for (int e = 0; e < experts; e++) {
                        assertThat(pathway[l * experts + e]).as("%s layer %d expert %d", item.id(), l, e).isGreaterThanOrEqualTo(0f);
                        sum += pathway[l * experts + e];
                    }
                    assertThat(sum).as("%s layer %d", item.id(), l).isCloseTo(1.0, within(1e-4));
                }
            }
        }
    }

    @Test
    void withOptimisedFailuresTheBuilderKeepsEveryPlainReferenceAndTheFailuresItFixes(@TempDir Path dir) {
        ReferencePathwayOptimiser.Settings settings = ReferencePathwayOptimiser.Settings.DEFAULTS;
        Path plainFile = dir.resolve("plain.c3po"), optimisedFile = dir.resolve("optimised.c3po");
        ReferenceSetBuilder.Outcome plain, optimised;
        try (Session s = Fixtures.session(model, settings.sequencesNeeded())) {
            ReferenceSetBuilder builder = new ReferenceSetBuilder(model, s, new HiddenStateEmbedder(), ANSWER_TOKENS, 10);
            plain = builder.build(ITEMS, plainFile);
            optimised = builder.optimisingFailures(settings).build(ITEMS, optimisedFile);
        }
        assertThat(plain).extracting(ReferenceSetBuilder.Outcome::examined, ReferenceSetBuilder.Outcome::keptPlain,
                ReferenceSetBuilder.Outcome::keptOptimised).containsExactly(5, 2, 0);
        assertThat(optimised.examined()).isEqualTo(5);
        assertThat(optimised.keptPlain()).isEqualTo(plain.keptPlain());
        // measured: 20 steps bring dev-shifted-9's and -18's gold loss below 0.05, and both are then answered correctly
        assertThat(optimised.keptOptimised()).isPositive();
        assertThat(optimised.kept()).isEqualTo(optimised.keptPlain() + optimised.keptOptimised()).isLessThanOrEqualTo(optimised.examined());

        try (ReferenceSet p = ReferenceSet.load(plainFile, model); ReferenceSet o = ReferenceSet.load(optimisedFile, model)) {
            assertThat(o.size()).isEqualTo(optimised.kept());
            Map<String, Integer> inPlain = new HashMap<>();
            for (int i = 0; i < p.size(); i++) {
                inPlain.put(p.id(i), i);
            }
            int experts = model.info().experts();
            for (int i = 0; i < o.size(); i++) {
                String id = o.id(i);
                String gold = ITEMS.stream().filter(e -> e.id().equals(id)).findFirst().orElseThrow().gold();
                assertThat(model.detokenize(o.answer(i)).strip().lines().findFirst().orElse("")).as("%s: its stored answer is the right one", id).isEqualTo(gold);
                if (inPlain.containsKey(id)) {
                    assertThat(o.pathway(i)).as("%s keeps its plain pathway", id).containsExactly(p.pathway(inPlain.get(id)), within(1e-6f));
                    continue;
                }
                assertThat(ANSWERED_WRONGLY).contains(id);
                float[] own;
                try (Session s = Fixtures.session(model, 1)) {
                    own = PromptProbe.run(s, 0, o.prompt(i), false, new CancellationToken()).pathway();
                }
                float[] stored = o.pathway(i);
                double moved = 0;
                for (int j = 0; j < own.length; j++) {
                    moved = Math.max(moved, Math.abs(stored[j] - own[j]));
                }
                assertThat(moved).as("%s is stored with its optimised pathway, not its own", id).isGreaterThan(1e-2);
                for (int l = 0; l < model.info().moeLayers().size(); l++) {
                    float[] row = o.pathwayRow(i, l);
                    double sum = 0;
                    for (float x : row) {
                        sum += x;
                    }
                    assertThat(row).hasSize(experts);
                    assertThat(sum).isCloseTo(1.0, within(1e-4));
                }
            }
            assertThat(inPlain.keySet()).allSatisfy(id -> assertThat(ids(o)).contains(id));
        }
    }

    @Test
    void badSettingsAreRefusedWithTheTypedException(@TempDir Path dir) {
        for (int steps : new int[] {0, 201}) {
            assertThatThrownBy(() -> new ReferencePathwayOptimiser.Settings(steps, Injection.FROM_LAST_PROMPT_TOKEN))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("steps must be 1..200, got " + steps);
            assertThatThrownBy(() -> ReferencePathwayOptimiser.Settings.DEFAULTS.withSteps(steps)).isInstanceOf(InvalidRequestException.class);
        }
        assertThat(ReferencePathwayOptimiser.Settings.DEFAULTS.withSteps(200).steps()).isEqualTo(200);
        assertThat(ReferencePathwayOptimiser.Settings.DEFAULTS.injection()).isEqualTo(C3poSettings.DEFAULTS.injection());

        try (Session one = Fixtures.session(model, 1)) {
            ReferenceSetBuilder plain = new ReferenceSetBuilder(model, one, new HiddenStateEmbedder(), ANSWER_TOKENS, 10);
            assertThatThrownBy(() -> plain.optimisingFailures(FEW_STEPS)).isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("at least 2 sequences").hasMessageContaining("this one has 1");
        }
        try (Session s = Fixtures.session(model, 2)) {
            ReferenceSetBuilder builder = new ReferenceSetBuilder(model, s, new HiddenStateEmbedder(), ANSWER_TOKENS, 10).optimisingFailures(FEW_STEPS);
            ReferenceSetBuilder.Example unlabelled = new ReferenceSetBuilder.Example("no-gold", ITEMS.get(2).prompt(), 12, List.of("\n"), t -> false);
            Path out = dir.resolve("refs.c3po");
            assertThatThrownBy(() -> builder.build(List.of(ITEMS.getFirst(), unlabelled), out)).isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("'no-gold' has none");
            assertThat(Files.exists(out)).as("refused before any work").isFalse();
        }
    }

    /** A lab item scored as the harness scores it: the answer's first line, trimmed, is the gold. */
    private static ReferenceSetBuilder.Example lab(String id, String prompt, String gold) {
        return new ReferenceSetBuilder.Example(id, prompt, 12, List.of("\n"), t -> t.strip().lines().findFirst().orElse("").strip().equals(gold), gold);
    }

    private static List<String> ids(ReferenceSet refs) {
        return java.util.stream.IntStream.range(0, refs.size()).mapToObj(refs::id).toList();
    }
}
