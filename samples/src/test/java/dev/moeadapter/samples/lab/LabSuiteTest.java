package dev.moeadapter.samples.lab;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class LabSuiteTest {

    @Test
    void tasksComputeWhatTheirNamesSay() {
        assertThat(LabTask.REVERSE.apply("abcd")).isEqualTo("dcba");
        assertThat(LabTask.SORT.apply("dbca")).isEqualTo("abcd");
        assertThat(LabTask.ROTATE_LEFT.apply("abcd")).isEqualTo("bcda");
        assertThat(LabTask.ROTATE_RIGHT.apply("abcd")).isEqualTo("dabc");
        assertThat(LabTask.NEXT_LETTER.apply("abh")).isEqualTo("bca");
        assertThat(LabTask.PREVIOUS_LETTER.apply("abh")).isEqualTo("hag");
        assertThat(LabTask.MIRROR.apply("abh")).isEqualTo("hga");
        assertThat(LabTask.SWAP_PAIRS.apply("abcde")).isEqualTo("badce");
        assertThat(LabTask.SHIFT_3.apply("abh")).isEqualTo("dec");
    }

    @Test
    void aTableTaskMapsEachLetterByAPermutationChosenByTheLetterBeforeAndNoTwoTablesAgreeMuch() {
        List<LabTask> tables = LabTask.Family.TABLES.tasks();
        int[][][] maps = new int[tables.size()][LabTask.LETTERS + 1][LabTask.LETTERS];
        for (int k = 0; k < tables.size(); k++) {
            for (int before = 0; before <= LabTask.LETTERS; before++) {
                for (int c = 0; c < LabTask.LETTERS; c++) {
                    // the first letter has no letter before it; after letter b, the second letter of "bc"
                    String word = before == LabTask.LETTERS ? String.valueOf((char) ('a' + c)) : "" + (char) ('a' + before) + (char) ('a' + c);
                    String out = tables.get(k).apply(word);
                    maps[k][before][c] = out.charAt(out.length() - 1) - 'a';
                }
                assertThat(Arrays.stream(maps[k][before]).distinct().count()).as("task %d after %d", k, before).isEqualTo(LabTask.LETTERS);
            }
            // the output at i depends on the letters at i - 1 and i only
            String w = "hcbadeg";
            assertThat(tables.get(k).apply(w).substring(3)).isEqualTo(tables.get(k).apply(w.substring(2)).substring(1));
        }
        for (int k = 0; k < tables.size(); k++) {
            for (int m = k + 1; m < tables.size(); m++) {
                int same = 0;
                for (int before = 0; before <= LabTask.LETTERS; before++) {
                    for (int c = 0; c < LabTask.LETTERS; c++) same += maps[k][before][c] == maps[m][before][c] ? 1 : 0;
                }
                assertThat(same).as("entries tasks %d and %d share of 72", k, m).isLessThan(24);
            }
        }
    }

    @Test
    void aChainTaskMapsEachLetterByAPermutationChosenByTheOutputLetterBeforeIt() {
        for (LabTask task : LabTask.Family.CHAINS.tasks()) {
            // two prefixes that end on different letters but on the same output letter continue alike
            String letters = "abcdefgh";
            for (char c : letters.toCharArray()) {
                java.util.Map<Character, String> byLastOutput = new java.util.HashMap<>();
                for (char x : letters.toCharArray()) {
                    for (char y : letters.toCharArray()) {
                        String prefix = "" + x + y, out = task.apply(prefix);
                        String other = byLastOutput.putIfAbsent(out.charAt(1), prefix);
                        if (other != null) {
                            assertThat(task.apply(prefix + c).charAt(2)).as("%s after %s and %s", c, prefix, other)
                                    .isEqualTo(task.apply(other + c).charAt(2));
                        }
                    }
                }
            }
            // and after one output letter, the eight inputs map to eight outputs
            assertThat(letters.chars().mapToObj(c -> task.apply("a" + (char) c).charAt(1)).distinct().count()).isEqualTo(LabTask.LETTERS);
            // the output depends on what was written, not on the input letter before it
            assertThat(java.util.stream.IntStream.range(0, 8).mapToObj(i -> task.apply("" + letters.charAt(i) + "a").charAt(1))
                    .distinct().count()).isGreaterThan(1);
        }
        assertThat(LabTask.CHAIN_1.apply("abcabc")).isNotEqualTo(LabTask.TABLE_1.apply("abcabc"));
    }

    @Test
    void chainTasksHaveDistinctAliasesOfCapitalsOutsideTheirTagsAndNoOtherFamilyHasAny() {
        Set<String> aliases = new java.util.HashSet<>();
        for (LabTask task : LabTask.Family.CHAINS.tasks()) {
            for (int i = 0; i < LabTask.ALIASES; i++) {
                assertThat(task.alias(i)).matches("[A-Z]{3}").doesNotContain("C").doesNotContain("H");
                aliases.add(task.alias(i));
            }
        }
        assertThat(aliases).hasSize(8 * LabTask.ALIASES);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LabTask.TABLE_1.alias(0)).isInstanceOf(IllegalStateException.class);
        assertThat(LabTask.aliasIndex(0.0)).isZero();
        assertThat(LabTask.aliasIndex(0.9999)).isEqualTo(LabTask.ALIASES - 1);
        // alias i is ALIAS_RATIO times as likely as alias i + 1
        int[] counts = new int[LabTask.ALIASES];
        for (int k = 0; k < 85_000; k++) counts[LabTask.aliasIndex((k + 0.5) / 85_000)]++;
        assertThat(counts).containsExactly(64_000, 16_000, 4_000, 1_000);
    }

    @Test
    void committedSuiteIsWhatTheSeedGenerates(@TempDir Path dir) throws Exception {
        LabSuite.writeAll(dir);
        for (LabSuite.Split s : LabSuite.Split.values()) {
            assertThat(Files.readString(dir.resolve(s.fileName())))
                    .as(s.fileName()).isEqualTo(Files.readString(Path.of("lab/tasks").resolve(s.fileName())));
        }
    }

    @Test
    void everyItemIsSolvableFromItsDemonstrationsAndCorrect() {
        for (LabSuite.Split s : LabSuite.Split.values()) {
            for (LabItem it : LabSuite.split(s)) {
                String body = it.prompt().substring(it.prompt().indexOf(':') + 1);
                String[] parts = body.split(",");
                List<String> inputs = java.util.Arrays.stream(parts, 0, parts.length - 1).map(p -> p.split("=")[0]).toList();
                assertThat(LabSuite.disambiguates(LabTask.Family.STRINGS, it.task(), inputs)).isTrue();
                String query = parts[parts.length - 1].replace("=", "");
                assertThat(it.answer()).isEqualTo(it.task().apply(query));
            }
        }
    }

    @Test
    void evaluationSplitsAreBalancedAndShiftedTagsMislead() {
        List<LabItem> shifted = LabSuite.split(LabSuite.Split.TEST_SHIFTED);
        assertThat(shifted).allMatch(LabItem::shifted);
        Map<LabTask, Long> perTask = shifted.stream().collect(Collectors.groupingBy(LabItem::task, Collectors.counting()));
        assertThat(perTask.values()).containsOnly(50L);
        assertThat(LabSuite.split(LabSuite.Split.TEST)).noneMatch(LabItem::shifted)
                .allMatch(it -> it.tag().equals(it.task().tag()));
    }

    @Test
    void trainingNeverSeesAHeldOutQuery() {
        Set<String> held = LabSuite.heldOut();
        LabSuite.Generator g = LabSuite.training(held);
        for (int i = 0; i < 20_000; i++) assertThat(held).doesNotContain(LabSuite.key(g.next()));
    }
}
