package dev.moeadapter.samples.eval;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code ./moe eval --help} prints how to call it, not a stack trace. */
class EvalCommandHelpTest {
    @Test
    void helpPrintsTheUsage() throws Exception {
        for (String[] args : new String[][]{{"--help"}, {"-h"}, {}}) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            PrintStream original = System.out;
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            try {
                EvalCommand.main(args);
            } finally {
                System.setOut(original);
            }
            assertThat(out.toString(StandardCharsets.UTF_8)).as(String.join(" ", args))
                    .startsWith("usage: ./moe eval --model FILE.gguf --bench FILE.jsonl").contains("--reference FILE.c3po");
        }
    }
}
