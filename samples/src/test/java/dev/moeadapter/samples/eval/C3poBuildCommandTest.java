package dev.moeadapter.samples.eval;

import dev.moeadapter.c3po.ReferenceSet;
import dev.moeadapter.c3po.ReferenceSetBuilder;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.json.JsonMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code c3po-build --optimise-failures}: its flags are bounded, and it keeps what the paper's recipe keeps and more. */
class C3poBuildCommandTest {
    private static final Path LAB_OLMOE = Path.of("lab/models/lab-olmoe.gguf");

    @Test
    void optimisationFlagsAreBoundedWithAClearError() {
        record Case(List<String> flags, String message) {
        }
        for (Case c : List.of(
                new Case(List.of("--optimise-failures", "true", "--optimise-steps", "0"), "'optimise-steps' must be in 1..200, got '0'"),
                new Case(List.of("--optimise-failures", "true", "--optimise-steps", "201"), "'optimise-steps' must be in 1..200, got '201'"),
                new Case(List.of("--optimise-failures", "true", "--optimise-steps", "2.5"), "'optimise-steps' must be an integer"),
                new Case(List.of("--optimise-steps", "5"), "--optimise-steps applies with --optimise-failures true only"),
                new Case(List.of("--optimise-failures", "yes"), "'optimise-failures' must be true or false"),
                new Case(List.of("--optimize-failures", "true"), "unknown c3po-build setting 'optimize-failures'"),
                new Case(List.of("--answer-tokens", "65"), "'answer-tokens' must be in 1..64"),
                new Case(List.of("--ctx", "0"), "'ctx' must be in 1.."))) {
            // refused before the model or the benchmark is read: neither exists
            String[] args = Stream.concat(Stream.of("--model", "none.gguf", "--bench", "none.jsonl", "--out", "none.c3po"), c.flags().stream())
                    .toArray(String[]::new);
            assertThatThrownBy(() -> C3poBuildCommand.run(args)).as(String.join(" ", c.flags()))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining(c.message());
        }
    }

    @Test
    void optimisingFailuresKeepsThePlainReferencesAndFailuresAnOptimisedPathwayFixes(@TempDir Path dir) throws Exception {
        // the shipped lab model answers dev-0 correctly and both misleadingly tagged items wrongly; 20 steps fix dev-shifted-9
        List<Map<String, String>> items = List.of(
                Map.of("id", "dev-0", "task", "rev", "prompt", "REV:bce=ecb,habah=habah,ehgd=", "answer", "dghe"),
                Map.of("id", "dev-shifted-5", "task", "prv", "prompt", "ROR:dab=cha,aahgec=hhgfdb,dbh=", "answer", "cag"),
                Map.of("id", "dev-shifted-9", "task", "srt", "prompt", "SWP:ahh=ahh,ecge=ceeg,def=", "answer", "def"));
        JsonMapper json = JsonMapper.builder().build();
        StringBuilder jsonl = new StringBuilder();
        for (Map<String, String> item : items) {
            jsonl.append(json.writeValueAsString(item)).append('\n');
        }
        Path bench = dir.resolve("ref.jsonl");
        Files.writeString(bench, jsonl);
        List<String> common = List.of("--model", LAB_OLMOE.toString(), "--bench", bench.toString(), "--max-tokens", "12", "--answer-tokens", "8",
                "--threads", "1", "--ctx", "256");

        List<String> plainArgs = new ArrayList<>(common);
        plainArgs.addAll(List.of("--out", dir.resolve("plain.c3po").toString()));
        ReferenceSetBuilder.Outcome plain = C3poBuildCommand.run(plainArgs.toArray(String[]::new));
        List<String> optimisedArgs = new ArrayList<>(common);
        optimisedArgs.addAll(List.of("--out", dir.resolve("optimised.c3po").toString(), "--optimise-failures", "true"));
        ReferenceSetBuilder.Outcome optimised = C3poBuildCommand.run(optimisedArgs.toArray(String[]::new));

        assertThat(plain.keptPlain()).isEqualTo(1);
        assertThat(plain.keptOptimised()).isZero();
        assertThat(optimised.examined()).isEqualTo(3);
        assertThat(optimised.keptPlain()).isEqualTo(plain.keptPlain());
        assertThat(optimised.keptOptimised()).isPositive();
        try (Model model = Model.load(ModelParams.of(LAB_OLMOE)); ReferenceSet refs = ReferenceSet.load(optimised.file(), model)) {
            assertThat(refs.size()).isEqualTo(optimised.kept());
            assertThat(refs.id(0)).isEqualTo("dev-0");
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < refs.size(); i++) {
                ids.add(refs.id(i));
            }
            assertThat(ids).contains("dev-shifted-9");
        }
    }
}
