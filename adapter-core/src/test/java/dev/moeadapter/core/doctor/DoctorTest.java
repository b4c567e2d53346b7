package dev.moeadapter.core.doctor;

import dev.moeadapter.core.adaptation.ModelRequirements;
import dev.moeadapter.core.doctor.Doctor.Status;
import dev.moeadapter.core.doctor.Doctor.Verdict;
import dev.moeadapter.core.gguf.GgufWriter;
import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

class DoctorTest {
    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "glm4moe", "lfm2moe", "qwen3next"})
    void everyEditPassesOnAWorkingModel(String name) {
        Path file = TestModels.byName(name).path();
        List<Verdict> verdicts = Doctor.examine(file, List.of());
        assertThat(verdicts).hasSize(12).allSatisfy(v -> assertThat(v.status()).as(v.check() + ": " + v.detail()).isEqualTo(Status.PASS));
    }

    @Test
    void aHashRoutedFirstLayerIsSkippedAndAnAbortingEmbeddingsModeIsRefused() {
        List<Verdict> verdicts = Doctor.examine(TestModels.byName("deepseek4").path(), List.of());
        assertThat(verdicts).hasSize(12);
        assertThat(verdicts.get(1).check()).isEqualTo("embeddings mode");
        assertThat(verdicts.get(1).status()).isEqualTo(Status.REFUSED);
        assertThat(Doctor.print(verdicts)).as("the model serves: the doctor's verdict is a pass").isTrue();
        assertThat(verdicts.get(1).detail()).contains("out of bounds");
        // the edits are checked on layer 1, the first with a router
        assertThat(verdicts).filteredOn(v -> v != verdicts.get(1))
                .allSatisfy(v -> assertThat(v.status()).as(v.check() + ": " + v.detail()).isEqualTo(Status.PASS));
    }

    @Test
    void aDenseModelHasNoEditsToCheck() {
        List<Verdict> verdicts = Doctor.examine(TestModels.dense().path(), List.of());
        assertThat(verdicts.getLast().status()).isEqualTo(Status.REFUSED);
        assertThat(verdicts.getLast().detail()).contains("no router");
    }

    @Test
    void theMethodsVerdictsComeLastWithTheReasonForEachRefusal() {
        ModelRequirements edits = ModelRequirements.routerEdits("edits");
        ModelRequirements prefixes = ModelRequirements.routerEdits("prefixes").rollingBackPrefixes("shares a prefix", null);
        List<Verdict> verdicts = Doctor.examine(TestModels.byName("lfm2moe").path(), List.of(ModelRequirements.none("plain"), edits, prefixes));
        assertThat(verdicts.getFirst().detail()).contains("hybrid memory");
        assertThat(verdicts.subList(verdicts.size() - 3, verdicts.size())).extracting(Verdict::check, Verdict::status).containsExactly(
                tuple("method plain", Status.PASS), tuple("method edits", Status.PASS), tuple("method prefixes", Status.REFUSED));
        assertThat(verdicts.getLast().detail()).isEqualTo(prefixes.refusal(TestModels.byName("lfm2moe").info()).orElseThrow())
                .contains("hybrid memory (lfm2moe)");
    }

    @Test
    void aBrokenModelFailsToLoadWithTheReason(@TempDir Path dir) throws IOException {
        GgufWriter w = RandomModels.build(RandomModels.Spec.olmoe().withName("doctor-broken"));
        w.remove("olmoe.expert_used_count").putUInt32("olmoe.expert_used_count", 17);
        Path f = dir.resolve("broken.gguf");
        w.write(f);
        assertThat(Doctor.examine(f, List.of(ModelRequirements.none("none")))).singleElement().satisfies(v -> {
            assertThat(v.status()).isEqualTo(Status.FAIL);
            assertThat(v.detail()).contains("GGML_ASSERT");
        });
    }
}
