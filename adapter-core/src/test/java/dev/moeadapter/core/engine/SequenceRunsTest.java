package dev.moeadapter.core.engine;

import dev.moeadapter.core.engine.SequenceRuns.Run;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SequenceRunsTest {
    @Test
    void sequencesFollowEachOtherInRunsAsLongAsABatchAllows() {
        assertThat(SequenceRuns.of(2, 0, 100, 64)).containsExactly(
                List.of(new Run(0, 0, 64)),
                List.of(new Run(0, 64, 100), new Run(1, 0, 28)),
                List.of(new Run(1, 28, 92)),
                List.of(new Run(1, 92, 100)));
    }

    @Test
    void shortRangesShareABatchAndEveryPositionComesOnce() {
        List<List<Run>> batches = SequenceRuns.of(9, 5, 25, 64);
        assertThat(batches).hasSize(3).allSatisfy(b -> assertThat(b.stream().mapToInt(Run::size).sum()).isLessThanOrEqualTo(64));
        assertThat(batches.stream().flatMap(List::stream).mapToInt(Run::size).sum()).isEqualTo(9 * 20);
        assertThat(SequenceRuns.of(3, 7, 7, 64)).isEmpty();
        assertThatThrownBy(() -> SequenceRuns.of(1, 3, 2, 64)).isInstanceOf(IllegalArgumentException.class);
    }
}
