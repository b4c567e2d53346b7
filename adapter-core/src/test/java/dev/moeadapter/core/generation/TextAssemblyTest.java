package dev.moeadapter.core.generation;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class TextAssemblyTest {
    @Test
    void multiByteCharactersSplitAcrossTokensAreHeldBack() {
        byte[] check = "✓é".getBytes(StandardCharsets.UTF_8); // 3 + 2 bytes
        Utf8Accumulator acc = new Utf8Accumulator();
        StringBuilder out = new StringBuilder();
        for (byte b : check) {
            String s = acc.append(new byte[] {b});
            out.append(s);
        }
        assertThat(out.toString()).isEqualTo("✓é");
        assertThat(acc.append(Arrays.copyOf(check, 2))).isEmpty();
        assertThat(acc.flush()).isEqualTo("\uFFFD");
    }

    @Test
    void stopMatcherHoldsBackPossibleStarts() {
        StopMatcher m = new StopMatcher(List.of("END", "##"));
        assertThat(m.find("abc EN", 0)).isEqualTo(-1);
        assertThat(m.safeLength("abc EN")).isEqualTo(4);
        assertThat(m.safeLength("abc #")).isEqualTo(4);
        assertThat(m.safeLength("abc x")).isEqualTo(5);
        assertThat(m.find("abc END more", 0)).isEqualTo(4);
        assertThat(m.find("a ## b END", 3)).isEqualTo(2);
    }
}
