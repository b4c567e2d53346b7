package dev.moeadapter.samples.cli;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.ModelLoadException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CliTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private String said() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aMistakeInTheArgumentsIsOneLineAndTheUsageWithStatusTwo() throws Exception {
        assertThat(Cli.status("eval", "usage: ./moe eval …", () -> {
            throw new InvalidRequestException("missing --model");
        }, err)).isEqualTo(2);
        assertThat(said()).isEqualTo("eval: missing --model\nusage: ./moe eval …\n");

        bytes.reset();
        assertThat(Cli.status("load", null, () -> Integer.parseInt("abc"), err)).isEqualTo(2);
        assertThat(said()).isEqualTo("load: a number was expected: For input string: \"abc\"\n");
    }

    @Test
    void aFileOrModelThatCannotBeReadIsOneLineWithStatusOne() throws Exception {
        assertThat(Cli.status("compare", "usage", () -> {
            throw new NoSuchFileException("a.json");
        }, err)).isEqualTo(1);
        assertThat(Cli.status("doctor", "usage", () -> {
            throw new ModelLoadException("cannot read model file x.gguf");
        }, err)).isEqualTo(1);
        assertThat(said()).isEqualTo("compare: a.json\ndoctor: cannot read model file x.gguf\n").doesNotContain("usage");
    }

    @Test
    void whatIsNotTheUsersDoingKeepsItsStackTrace() throws Exception {
        assertThatThrownBy(() -> Cli.status("lab check", null, () -> {
            throw new IllegalStateException("a bug");
        }, err)).isInstanceOf(IllegalStateException.class);
        assertThat(Cli.status("lab check", null, () -> { }, err)).isZero();
        assertThat(said()).isEmpty();
    }
}
