package dev.moeadapter.samples.doctor;

import dev.moeadapter.core.adaptation.ModelRequirements;
import dev.moeadapter.core.doctor.Doctor;
import dev.moeadapter.core.doctor.Doctor.Status;
import dev.moeadapter.core.doctor.Doctor.Verdict;
import dev.moeadapter.core.engine.Gating;
import dev.moeadapter.core.engine.LayerRouting;
import dev.moeadapter.core.engine.Memory;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's table "Which method runs on which model" against the methods' own requirements,
 * cell by cell on model descriptions of each column, and on the real tiny models of each family:
 * the table cannot say what the service does not.
 */
class MethodsTableTest {
    /** Per column of the README table, the models it stands for. */
    private static final Map<String, List<ModelInfo>> COLUMNS = new LinkedHashMap<>();

    static {
        COLUMNS.put("softmax, with or without a selection bias (OLMoE, Mixtral, Qwen3-MoE, Qwen3-Next, ERNIE-4.5)",
                List.of(moe(Gating.SOFTMAX, false), moe(Gating.SOFTMAX, true)));
        COLUMNS.put("softmax after top-k (gpt-oss)", List.of(moe(Gating.SOFTMAX_WEIGHT, false)));
        COLUMNS.put("sigmoid, top-k on logits (Llama 4)", List.of(moe(Gating.SIGMOID, false)));
        COLUMNS.put("sigmoid or sqrt-softplus with a selection bias (DeepSeek-V3, GLM-4.5, LFM2-MoE, DeepSeek-V4)",
                List.of(moe(Gating.SIGMOID, true), moe(Gating.SQRT_SOFTPLUS, true)));
        COLUMNS.put("a hash-routed layer (DeepSeek-V4)", List.of(model(Memory.ATTENTION, IntStream.range(0, 3)
                .mapToObj(l -> new LayerRouting(l, Gating.SOFTMAX, true, false, 8, l > 0, false)).toList())));
        COLUMNS.put("no MoE layer (dense)", List.of(model(Memory.ATTENTION, List.of())));
        COLUMNS.put("attention memory", List.of(moe(Gating.SOFTMAX, false)));
        COLUMNS.put("hybrid, recurrent or sliding-window memory (Qwen3-Next, LFM2-MoE, DeepSeek-V4, gpt-oss, Llama 4)", List.of(
                model(Memory.HYBRID, layers(Gating.SOFTMAX, false)), model(Memory.RECURRENT, layers(Gating.SOFTMAX, false)),
                model(Memory.SLIDING_WINDOW, layers(Gating.SOFTMAX, false))));
    }

    /** The real test models, each in its gating column and its memory column. */
    private static final Map<String, List<String>> REAL = Map.of(
            "olmoe", List.of("softmax", "attention"),
            "qwen3next", List.of("softmax", "hybrid"),
            "gpt-oss", List.of("softmax after top-k", "hybrid"),
            "llama4", List.of("sigmoid, top-k", "hybrid"),
            "glm4moe", List.of("sigmoid or sqrt-softplus", "attention"),
            "lfm2moe", List.of("sigmoid or sqrt-softplus", "hybrid"),
            "deepseek4", List.of("a hash-routed layer", "sigmoid or sqrt-softplus", "hybrid"),
            "dense", List.of("no MoE layer", "attention"));

    private static List<LayerRouting> layers(Gating gating, boolean bias) {
        return IntStream.range(0, 3).mapToObj(l -> new LayerRouting(l, gating, true, bias, 8, true, false)).toList();
    }

    private static ModelInfo moe(Gating gating, boolean bias) {
        return model(Memory.ATTENTION, layers(gating, bias));
    }

    private static ModelInfo model(Memory memory, List<LayerRouting> routing) {
        return ModelInfo.of("x", "", 3, routing.isEmpty() ? 0 : 8, routing.isEmpty() ? 0 : 2, 100, 256, 16, 1, 2, true, memory, routing);
    }

    /** The table: header labels, then per method (its name in the first cell's backticks) whether each column allows it. */
    private record Table(List<String> columns, Map<String, List<Boolean>> runs) {
        static Table read() throws IOException {
            List<String> lines = Files.readAllLines(Path.of("..", "README.md"));
            int at = lines.indexOf("### Which method runs on which model");
            assertThat(at).as("the README's methods table").isPositive();
            while (!lines.get(at).startsWith("| method |")) {
                at++;
            }
            List<String> columns = cells(lines.get(at)).subList(1, cells(lines.get(at)).size());
            Map<String, List<Boolean>> runs = new LinkedHashMap<>();
            for (int i = at + 2; i < lines.size() && lines.get(i).startsWith("|"); i++) {
                List<String> row = cells(lines.get(i));
                String first = row.getFirst();
                String method = first.substring(first.indexOf('`') + 1, first.indexOf('`', first.indexOf('`') + 1));
                runs.put(method, row.subList(1, row.size()).stream().map(c -> {
                    assertThat(c).as(method + ": a cell starts with ✓ or ✗").matches("^[✓✗].*");
                    return c.startsWith("✓");
                }).toList());
            }
            return new Table(columns, runs);
        }

        private static List<String> cells(String line) {
            return Arrays.stream(line.substring(1, line.length() - 1).split("\\|")).map(String::strip).toList();
        }

        /** Whether the table lets {@code method} run on a model of all of {@code columns} (by the start of their labels). */
        boolean allows(String method, List<String> columns) {
            return columns.stream().allMatch(prefix -> runs.get(method).get(IntStream.range(0, this.columns.size())
                    .filter(i -> this.columns.get(i).startsWith(prefix)).findFirst().orElseThrow()));
        }
    }

    @Test
    void everyCellIsTheVerdictOfTheMethodsRequirements() throws IOException {
        Table table = Table.read();
        assertThat(table.columns()).containsExactlyElementsOf(COLUMNS.keySet());
        assertThat(table.runs().keySet()).as("one row per method the doctor reports")
                .containsExactlyElementsOf(DoctorCommand.METHODS.stream().map(ModelRequirements::method).toList());
        for (ModelRequirements method : DoctorCommand.METHODS) {
            List<Boolean> row = table.runs().get(method.method());
            for (int c = 0; c < table.columns().size(); c++) {
                for (ModelInfo model : COLUMNS.get(table.columns().get(c))) {
                    assertThat(method.refusal(model).isEmpty()).as("%s on '%s' (%s memory): %s", method.method(), table.columns().get(c),
                            model.memory(), method.refusal(model).orElse("runs")).isEqualTo(row.get(c));
                }
            }
        }
    }

    @Test
    void theRealModelsOfEachFamilyGetTheTablesVerdicts() throws IOException {
        Table table = Table.read();
        REAL.forEach((name, columns) -> {
            ModelInfo info = TestModels.byName(name).info();
            for (ModelRequirements method : DoctorCommand.METHODS) {
                assertThat(method.refusal(info).isEmpty()).as("%s on %s: %s", method.method(), name, method.refusal(info).orElse("runs"))
                        .isEqualTo(table.allows(method.method(), columns));
            }
        });
    }

    @Test
    void theDoctorPrintsEachMethodsVerdictWithTheReason() {
        List<Verdict> verdicts = Doctor.examine(TestModels.byName("lfm2moe").path(), DoctorCommand.METHODS);
        List<Verdict> methods = verdicts.subList(verdicts.size() - DoctorCommand.METHODS.size(), verdicts.size());
        assertThat(methods).extracting(Verdict::check).containsExactly("method none", "method c3po", "method rerouting",
                "method rerouting with a loss window", "method scmoe", "method steer");
        assertThat(methods).extracting(Verdict::status).containsExactly(Status.PASS, Status.REFUSED, Status.PASS, Status.REFUSED, Status.PASS,
                Status.PASS);
        assertThat(methods.get(3).detail()).contains("hybrid memory (lfm2moe)");
        assertThat(methods.get(1).detail()).contains("c3po needs softmax gating on every MoE layer")
                .contains("layer 1 uses sigmoid gating with a selection bias");
        assertThat(verdicts).filteredOn(v -> !methods.contains(v)).allSatisfy(v -> assertThat(v.status()).isEqualTo(Status.PASS));
    }
}
