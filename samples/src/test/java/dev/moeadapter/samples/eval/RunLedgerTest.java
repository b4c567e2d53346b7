package dev.moeadapter.samples.eval;

import dev.moeadapter.c3po.ModelFingerprint;
import dev.moeadapter.core.InvalidRequestException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RunLedgerTest {

    @TempDir
    Path suite;

    @Test
    void unguardedFilesAndDevSplitsPassFreely() throws Exception {
        Files.createDirectories(suite.resolve("tasks"));
        assertThat(RunLedger.forBenchmark(suite.resolve("tasks/test.jsonl"))).isNull(); // no acceptance.json
        Files.writeString(suite.resolve("acceptance.json"), "{}");
        assertThat(RunLedger.forBenchmark(suite.resolve("tasks/misleading-dev.jsonl"))).isNull();
        assertThat(RunLedger.forBenchmark(suite.resolve("tasks/misleading-test.jsonl"))).isNotNull();
    }

    @Test
    void aTestSplitRunsOnlyWhereTheFrozenChecksAllowItAndEveryRunIsRecorded() throws Exception {
        Path model = model();
        String sha = ModelFingerprint.sha256(model);
        freeze(model, "misleading-test", "SCMoE: mask reach below 30%", "\"scmoe\": false, \"rerouting\": true, \"c3po\": false");
        Path bench = suite.resolve("tasks/misleading-test.jsonl");
        RunLedger guard = RunLedger.forBenchmark(bench);

        guard.admit(model, bench, "none", Map.of());
        guard.admit(model, bench, "rerouting", Map.of("steps", "5"));
        assertThatThrownBy(() -> guard.admit(model, bench, "scmoe", Map.of()))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("cannot test scmoe").hasMessageContaining("mask reach");
        Path other = suite.resolve("tasks/untagged-test.jsonl");
        assertThatThrownBy(() -> RunLedger.forBenchmark(other).admit(model, other, "none", Map.of()))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("no frozen acceptance entry");

        assertThatThrownBy(() -> guard.admit(model, bench, "rerouting", Map.of("steps", "5")))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("already ran on misleading-test").hasMessageContaining("--rerun");
        assertThatThrownBy(() -> guard.admit(model, bench, "rerouting", Map.of("steps", "5", "rerun", " ")))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("says why");
        guard.admit(model, bench, "rerouting", Map.of("steps", "10")); // another pre-registered arm: other settings
        guard.admit(model, bench, "rerouting", Map.of("steps", "5", "rerun", "the first run was killed at item 120"));

        var lines = Files.readAllLines(suite.resolve("ledger.jsonl"));
        assertThat(lines).hasSize(4);
        assertThat(lines.get(1)).contains("\"split\":\"misleading-test\"", "\"arm\":\"rerouting\"", sha);
        assertThat(lines.get(3)).as("a rerun has the first run's settings hash, and its reason")
                .contains(lines.get(1).replaceAll(".*(\"settings\":\"[0-9a-f]+\").*", "$1"), "\"rerun\":\"the first run was killed at item 120\"");
        assertThat(RunLedger.hash(Map.of("a", "1", "b", "2"))).isEqualTo(RunLedger.hash(Map.of("b", "2", "a", "1")));
    }

    @Test
    void c3poOnReferencesWithFittedFailuresNeedsAVerdictOfItsOwn() throws Exception {
        Path model = model();
        freeze(model, "alias-test", "C3PO: neighbours' pathways reach less than base + 10 points",
                "\"scmoe\": true, \"rerouting\": true, \"c3po\": false, \"c3po-optimised-refs\": true");
        Path bench = suite.resolve("tasks/alias-test.jsonl");
        RunLedger guard = RunLedger.forBenchmark(bench);

        assertThatThrownBy(() -> guard.admit(model, bench, "c3po-ngd", Map.of()))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("cannot test c3po");
        assertThatThrownBy(() -> guard.admit(model, bench, "c3po-ngd", Map.of(RunLedger.REFERENCE_RECIPE, RunLedger.PAPER)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("cannot test c3po");
        guard.admit(model, bench, "c3po-ngd", Map.of(RunLedger.REFERENCE_RECIPE, RunLedger.OPTIMISED_FAILURES));
        assertThat(Files.readAllLines(suite.resolve("ledger.jsonl"))).singleElement().asString().contains("\"arm\":\"c3po-ngd\"");
        assertThatThrownBy(() -> RunLedger.method("c3po-ngd", Map.of(RunLedger.REFERENCE_RECIPE, "tuned-on-test")))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("must be paper or optimised-failures");
        assertThatThrownBy(() -> RunLedger.method("scmoe", Map.of(RunLedger.REFERENCE_RECIPE, RunLedger.PAPER)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("c3po policies only");
        assertThat(RunLedger.method("c3po-ngd", Map.of(RunLedger.REFERENCE_RECIPE, RunLedger.OPTIMISED_FAILURES))).isEqualTo("c3po-optimised-refs");

        // registered to run where the check says the split cannot test it: admitted, and the ledger says so
        assertThatThrownBy(() -> guard.admit(model, bench, "c3po-ngd", Map.of(RunLedger.OUTSIDE_CHECK, " ")))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("where the run was registered");
        guard.admit(model, bench, "c3po-ngd", Map.of(RunLedger.OUTSIDE_CHECK, "samples/lab/README.md, 2026-12-02"));
        assertThat(Files.readAllLines(suite.resolve("ledger.jsonl")).getLast())
                .contains("\"outsideCheck\":\"samples/lab/README.md, 2026-12-02\"", "\"frozenVerdict\":\"C3PO: neighbours'");
    }

    private Path model() throws Exception {
        return Files.writeString(suite.resolve("m.gguf"), "not really a model, but it has a hash");
    }

    /** An acceptance.json that froze one split of {@code model}: why, and the canTest object's members. */
    private void freeze(Path model, String split, String why, String canTest) throws Exception {
        Files.createDirectories(suite.resolve("tasks"));
        Files.writeString(suite.resolve("acceptance.json"), """
                {"%s": {"model": "m.gguf", "splits": {"%s": {"why": "%s", "canTest": {%s}}}}}
                """.formatted(ModelFingerprint.sha256(model), split, why, canTest));
    }
}
