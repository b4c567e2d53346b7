package dev.moeadapter.samples.eval;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ScorerTest {
    @Test
    void exactMatchComparesTheFirstLine() {
        var s = new BenchmarkItem.ExactMatch("cba");
        assertThat(Scorer.correct(s, " cba\nmore")).isTrue();
        assertThat(Scorer.correct(s, "cb a")).isFalse();
        assertThat(Scorer.correct(s, "")).isFalse();
    }

    @Test
    void finalNumberFollowsGsm8kConventions() {
        var s = new BenchmarkItem.FinalNumber("1,203");
        assertThat(Scorer.correct(s, "3 + 1200 = 1203. #### 1203")).isTrue();
        assertThat(Scorer.correct(s, "So the answer is 1,203.")).isTrue();
        assertThat(Scorer.correct(s, "#### 1203 and later 7")).isTrue();
        assertThat(Scorer.correct(s, "1203 then 5")).isFalse();
        assertThat(Scorer.correct(s, "no digits")).isFalse();
        assertThat(Scorer.correct(new BenchmarkItem.FinalNumber("-2.5"), "it is -2.50")).isTrue();
    }

    @Test
    void choiceLetterTakesTheFirstValidLetter() {
        var s = new BenchmarkItem.ChoiceLetter(List.of("a", "b", "c"), 'B');
        assertThat(Scorer.correct(s, " B. because")).isTrue();
        assertThat(Scorer.correct(s, " (B)")).isTrue();
        assertThat(Scorer.correct(s, " A")).isFalse();
        assertThat(Scorer.extract(s, " Z then C")).isEqualTo("C");
        assertThat(Scorer.correct(s, "Because")).isFalse();
    }

    @Test
    void wilsonIntervalBehavesAtTheEdges() {
        Proportion none = Proportion.of(0, 10);
        assertThat(none.low()).isZero();
        assertThat(none.high()).isCloseTo(0.2775, within(1e-3));
        Proportion half = Proportion.of(50, 100);
        assertThat(half.low()).isCloseTo(0.4038, within(1e-3));
        assertThat(half.high()).isCloseTo(0.5962, within(1e-3));
        assertThat(Proportion.of(0, 0).n()).isZero();
    }
}
