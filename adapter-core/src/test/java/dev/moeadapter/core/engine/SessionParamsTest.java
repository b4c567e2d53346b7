package dev.moeadapter.core.engine;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SessionParamsTest {

    /** llama.cpp lowers the batch to the context size and then aborts the process if fewer rows than sequences remain. */
    @Test
    void aContextSmallerThanItsSequencesIsRefusedBeforeLlamaCppSeesIt() {
        assertThatThrownBy(() -> new SessionParams(8, 64, 16, 1, 1)).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("contextSize (8) must be at least the number of sequences (16)");
        assertThatThrownBy(() -> new SessionParams(1, 4, 4, 1, 1)).isInstanceOf(InvalidRequestException.class);
        Model m = TestModels.olmoe();
        for (KvLayout layout : KvLayout.values()) { // the smallest shape allowed opens and decodes
            try (Session s = m.newSession(new SessionParams(4, 4, 4, 1, 1).withKvLayout(layout))) {
                s.decode(Batch.of(3, 0, 5));
                assertThat(s.maxPosition(3)).isZero();
            }
        }
    }

    @Test
    void moreThreadsThanAnyMachineNeedsAreRefused() {
        assertThatThrownBy(() -> new SessionParams(64, 8, 1, 600, 600)).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("at most 256 threads");
        assertThatThrownBy(() -> new SessionParams(64, 8, 1, 1, 257)).isInstanceOf(InvalidRequestException.class);
        assertThat(new SessionParams(64, 8, 1, 256, 256).threads()).isEqualTo(256);
    }
}
