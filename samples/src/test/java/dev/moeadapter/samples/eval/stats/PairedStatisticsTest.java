package dev.moeadapter.samples.eval.stats;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class PairedStatisticsTest {

    @Test
    void newcombesPublishedExampleAndTheExactMcNemarP() {
        // Newcombe (1998), Statistics in Medicine 17:2635, example (a): 12 / 9 / 2 / 21, method 10: 0.0182 to 0.2893
        // for base − arm; here the difference is arm − base, so the interval is mirrored.
        PairedComparison c = PairedComparison.of(12, 9, 2, 21);
        assertThat(c.difference()).isCloseTo(-7.0 / 44, within(1e-12));
        assertThat(c.low()).isCloseTo(-0.28916, within(1e-5));
        assertThat(c.high()).isCloseTo(-0.01821, within(1e-5));
        // 2 · P(X ≤ 2), X ~ Bin(11, ½) = 2 · (1 + 11 + 55) / 2048
        assertThat(c.mcnemarP()).isCloseTo(134.0 / 2048, within(1e-12));
        assertThat(c.rightToWrong()).isEqualTo(9);
        assertThat(c.wrongToRight()).isEqualTo(2);
    }

    @Test
    void countsComeFromTheItemPairs() {
        boolean[] base = {true, true, false, false, true};
        boolean[] arm = {true, false, true, true, true};
        PairedComparison c = PairedComparison.of(base, arm);
        assertThat(List.of(c.bothRight(), c.rightToWrong(), c.wrongToRight(), c.bothWrong())).containsExactly(2, 1, 2, 0);
        assertThat(c.difference()).isCloseTo(0.2, within(1e-12));
        assertThat(c.low()).isLessThan(0.2);
        assertThat(c.high()).isGreaterThan(0.2);
    }

    @Test
    void identicalArmsGiveNoDifferenceAndPOne() {
        boolean[] same = {true, false, true, true};
        PairedComparison c = PairedComparison.of(same, same);
        assertThat(c.difference()).isZero();
        assertThat(c.mcnemarP()).isEqualTo(1);
    }

    @Test
    void largeDiscordantCountsStayFinite() {
        assertThat(PairedComparison.mcnemarExact(600, 400)).isBetween(1e-12, 1e-7);
        assertThat(PairedComparison.mcnemarExact(500, 500)).isCloseTo(1, within(1e-9));
    }

    @Test
    void signFlipTestIsExact() {
        // three items, each +1: of the 8 sign patterns, only all + and all − reach |T| = 3
        assertThat(PooledComparison.signFlipP(new int[] {1, 1, 1})).isCloseTo(0.25, within(1e-12));
        // {2, 1}: sums ±3 (2 of 4) and ±1 (2 of 4); observed 2 − 1 = 1 → every pattern reaches |T| ≥ 1
        assertThat(PooledComparison.signFlipP(new int[] {2, -1})).isCloseTo(1, within(1e-12));
        assertThat(PooledComparison.signFlipP(new int[] {0, 0})).isEqualTo(1);
    }

    @Test
    void pooledComparisonTreatsItemsNotPairsAsTheUnit() {
        // two seeds that agree item by item: 10 items fixed in both seeds. Stacking would count 20
        // discordant pairs (McNemar p ≈ 2e-6); per item, it is 10 sign flips (p = 2/1024).
        boolean[] base = new boolean[40], arm = new boolean[40];
        for (int i = 0; i < 10; i++) arm[i] = true;
        PooledComparison pooled = PooledComparison.of(List.of(base, base), List.of(arm, arm));
        assertThat(pooled.p()).isCloseTo(2.0 / 1024, within(1e-12));
        assertThat(pooled.difference()).isCloseTo(0.25, within(1e-12));
        assertThat(pooled.perSeed()).hasSize(2).allMatch(c -> c.wrongToRight() == 10);
        assertThat(pooled.low()).isGreaterThan(0);
    }

    @Test
    void holmStepsDown() {
        assertThat(Holm.adjust(new double[] {0.01, 0.04, 0.03})).containsExactly(0.03, 0.06, 0.06);
        assertThat(Holm.adjust(new double[] {0.5})).containsExactly(0.5);
    }
}
