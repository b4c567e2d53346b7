package dev.moeadapter.samples.lab;

import dev.moeadapter.samples.lab.LabSuiteV2.Part;
import dev.moeadapter.samples.lab.LabSuiteV2.Shift;
import dev.moeadapter.samples.lab.LabSuiteV2.Split;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class LabSuiteV2Test {

    @ParameterizedTest
    @CsvSource({"STRINGS, lab/v2/tasks", "TABLES, lab/v3/tasks"})
    void committedSuiteIsWhatTheSeedGenerates(LabTask.Family family, String committedDir, @TempDir Path dir) throws Exception {
        Path committed = Path.of(committedDir);
        LabSuiteV2.writeAll(family, dir);
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                assertThat(Files.readString(f)).as(f.getFileName().toString())
                        .isEqualTo(Files.readString(committed.resolve(f.getFileName())));
            }
        }
        try (var files = Files.list(committed)) {
            assertThat(files.count()).isEqualTo(1 + Split.all().size());
        }
    }

    @ParameterizedTest
    @EnumSource(LabTask.Family.class)
    void everySplitIsBalancedCorrectAndShiftedAsRegistered(LabTask.Family family) {
        assertThat(Split.all(family).stream().anyMatch(s -> s.shift() == Shift.ALIAS)).isEqualTo(family.hasAliases());
        for (Split s : Split.all(family)) {
            List<LabItem> items = LabSuiteV2.split(family, s);
            Map<LabTask, Long> perTask = items.stream().collect(Collectors.groupingBy(LabItem::task, Collectors.counting()));
            assertThat(perTask.values()).as(s.name()).containsOnly(50L);
            for (LabItem it : items) {
                String body = it.prompt().substring(it.prompt().indexOf(':') + 1);
                String[] parts = body.split(",");
                List<String> words = java.util.Arrays.stream(parts).map(p -> p.split("=")[0]).toList();
                assertThat(family.tasks()).contains(it.task());
                assertThat(LabSuite.disambiguates(family, it.task(), words.subList(0, words.size() - 1))).isTrue();
                assertThat(it.answer()).isEqualTo(it.task().apply(words.getLast()));
                boolean long_ = s.shift() == Shift.LONG;
                assertThat(words).allMatch(w -> long_ ? w.length() >= LabSuiteV2.LONG_MIN && w.length() <= LabSuiteV2.LONG_MAX
                        : w.length() >= LabSuiteV2.MIN_LENGTH && w.length() <= LabSuiteV2.MAX_LENGTH);
                switch (s.shift()) {
                    case NONE -> { } // the training mix, checked below
                    case LONG -> assertThat(it.tag()).isEqualTo(it.task().tag());
                    case UNTAGGED -> assertThat(it.tag()).isEqualTo(LabSuite.UNTAGGED);
                    case MISLEADING -> assertThat(it.shifted()).isTrue();
                    case ALIAS -> assertThat(java.util.stream.IntStream.range(0, LabTask.ALIASES).mapToObj(it.task()::alias)).contains(it.tag());
                }
            }
            if (s.shift() == Shift.ALIAS) { // every alias equally often: 50 items a task, 12 or 13 an alias
                assertThat(items.stream().collect(Collectors.groupingBy(LabItem::tag, Collectors.counting())).values())
                        .hasSize(8 * LabTask.ALIASES).allMatch(c -> c == 12 || c == 13);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(LabTask.Family.class)
    void inDistributionSplitsHoldEachTasksItemsInTheTrainingMix(LabTask.Family family) {
        for (Part part : Part.values()) {
            List<LabItem> items = LabSuiteV2.split(family, new Split(Shift.NONE, part));
            for (LabTask task : family.tasks()) {
                List<LabItem> own = items.stream().filter(it -> it.task() == task).toList();
                assertThat(own.stream().filter(it -> it.tag().equals(task.tag()))).as(part + " " + task).hasSize(50 * LabSuiteV2.TAGGED_PERCENT / 100);
                assertThat(own.stream().filter(it -> it.tag().equals(LabSuite.UNTAGGED))).hasSize(50 * LabSuiteV2.UNTAGGED_PERCENT / 100);
                assertThat(own.stream().filter(LabItem::shifted)).hasSize(50 - 50 * (LabSuiteV2.TAGGED_PERCENT + LabSuiteV2.UNTAGGED_PERCENT) / 100);
            }
        }
    }

    @Test
    void trainingBatchesAreReproducibleMixedAsRegisteredAndNeverSeeAHeldOutQuery() {
        Set<String> held = LabSuiteV2.heldOut();
        assertThat(LabSuiteV2.trainingBatch(3, 17, 64, held)).isEqualTo(LabSuiteV2.trainingBatch(3, 17, 64, held));
        assertThat(LabSuiteV2.trainingBatch(3, 17, 64, held)).isNotEqualTo(LabSuiteV2.trainingBatch(4, 17, 64, held));
        int tagged = 0, untagged = 0, misleading = 0, n = 0;
        for (int step = 1; step <= 100; step++) {
            for (LabItem it : LabSuiteV2.trainingBatch(1, step, 128, held)) {
                assertThat(held).doesNotContain(LabSuite.key(it));
                n++;
                if (it.tag().equals(LabSuite.UNTAGGED)) untagged++;
                else if (it.shifted()) misleading++;
                else tagged++;
            }
        }
        assertThat(100.0 * tagged / n).isBetween(47.0, 53.0);
        assertThat(100.0 * untagged / n).isBetween(37.0, 43.0);
        assertThat(100.0 * misleading / n).isBetween(8.5, 11.5);
    }

    @Test
    void aliasedTrainingItemsComeInTheirShareWithEachAliasRarerThanTheOneBefore() {
        Set<String> held = LabSuiteV2.heldOut(LabTask.Family.CHAINS);
        int[] byAlias = new int[LabTask.ALIASES];
        int n = 0, aliased = 0, tagged = 0;
        for (int step = 1; step <= 200; step++) {
            for (LabItem it : LabSuiteV2.trainingBatch(LabTask.Family.CHAINS, 1, step, 128, held, 40, 10, 6)) {
                assertThat(held).doesNotContain(LabSuite.key(it));
                n++;
                if (it.tag().equals(it.task().tag())) tagged++;
                for (int i = 0; i < LabTask.ALIASES; i++) {
                    if (it.tag().equals(it.task().alias(i))) {
                        aliased++;
                        byAlias[i]++;
                    }
                }
            }
        }
        assertThat(100.0 * aliased / n).isBetween(5.0, 7.0);
        assertThat(100.0 * tagged / n).isBetween(41.0, 47.0);
        for (int i = 0; i + 1 < LabTask.ALIASES; i++) {
            assertThat((double) byAlias[i] / Math.max(1, byAlias[i + 1])).as("alias %d against %d", i, i + 1).isBetween(2.5, 6.5);
        }
        // the families without aliases refuse a share of them, and a share of zero leaves their batches as they were
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LabSuiteV2.trainingBatch(LabTask.Family.TABLES, 1, 1, 8, Set.of(), 40, 10, 2))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(LabSuiteV2.trainingBatch(LabTask.Family.TABLES, 1, 1, 64, Set.of(), 40, 10, 0))
                .isEqualTo(LabSuiteV2.trainingBatch(LabTask.Family.TABLES, 1, 1, 64, Set.of(), 40, 10));
    }

    @Test
    void aLargerReferenceSplitStartsWithTheCommittedOneAndHoldsNoEvaluatedQuery() {
        Split aliasRef = Split.named("alias-ref");
        List<LabItem> larger = LabSuiteV2.largerReference(LabTask.Family.CHAINS, aliasRef, 2000);
        assertThat(larger).hasSize(2000);
        assertThat(larger.subList(0, LabSuiteV2.SPLIT_SIZE)).isEqualTo(LabSuiteV2.split(LabTask.Family.CHAINS, aliasRef));
        Set<String> evaluated = Split.all(LabTask.Family.CHAINS).stream().filter(s -> s.part() != Part.REF)
                .flatMap(s -> LabSuiteV2.split(LabTask.Family.CHAINS, s).stream()).map(LabSuite::key).collect(Collectors.toSet());
        List<LabItem> added = larger.subList(LabSuiteV2.SPLIT_SIZE, larger.size());
        assertThat(added).noneMatch(it -> evaluated.contains(LabSuite.key(it)));
        assertThat(added).allMatch(it -> it.answer().equals(it.task().apply(it.prompt().substring(it.prompt().lastIndexOf(',') + 1, it.prompt().length() - 1))));
        assertThat(added.stream().map(LabItem::id).distinct().count()).isEqualTo(added.size());
        // every alias of every task is drawn about equally often
        Map<String, Long> perTag = added.stream().collect(Collectors.groupingBy(LabItem::tag, Collectors.counting()));
        assertThat(perTag).hasSize(LabTask.Family.CHAINS.tasks().size() * LabTask.ALIASES);
        assertThat(perTag.values()).allMatch(n -> n >= 45 && n <= 55);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LabSuiteV2.largerReference(LabTask.Family.CHAINS, Split.named("alias-dev"), 800))
                .isInstanceOf(IllegalArgumentException.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LabSuiteV2.largerReference(LabTask.Family.CHAINS, aliasRef, 100))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
