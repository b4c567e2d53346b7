package dev.moeadapter.bench;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What the benchmark steps hand each other as JSON files (one process per step, see
 * {@code benchmarks/run.sh}), and the mapper that reads and writes them: snake_case names, as
 * llama-bench's own {@code -o json} output.
 */
final class Results {
    static final JsonMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private Results() {}

    /** One row of the table: a measured (or failed, or skipped) configuration. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Row(String id, String label, String status, String error, Series pp, Series tg, Map<String, Object> details) {
        static Row measured(String id, String label, Series pp, Series tg, Map<String, Object> details) {
            return new Row(id, label, "ok", null, pp, tg, details);
        }

        static Row failed(String id, String label, String error, Map<String, Object> details) {
            return new Row(id, label, "failed", error, null, null, details);
        }

        boolean ok() {
            return "ok".equals(status);
        }
    }

    /** The model as the engine sees it. */
    record ModelSummary(String path, long sizeBytes, String description, String architecture, int layers, int moeLayers,
                        int experts, int expertsUsed, int embedding, int vocab) {}

    /** Output of {@code EngineBenchmark engine}: the no-plan and all-layer-edit rows on one native library set. */
    record EngineResult(ModelSummary model, List<Row> rows) {}

    /** The fields of one llama-bench {@code -o json} entry that identify and measure a test. */
    record LlamaBenchEntry(int nThreads, int nPrompt, int nGen, double[] samplesTs) {}

    static <T> T read(Path file, Class<T> type) throws IOException {
        return JSON.readValue(Files.readString(file), type);
    }

    static void write(Path file, Object value) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, JSON.writeValueAsString(value) + "\n");
    }
}
