package dev.moeadapter.core.engine;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.ModelLoadException;
import dev.moeadapter.core.gguf.GgufWriter;
import dev.moeadapter.core.gguf.GgufWriter.TensorData;
import dev.moeadapter.core.gguf.GgufWriter.TensorType;
import dev.moeadapter.core.testmodels.RandomModels;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Corrupted model files: each fails {@link Model#load} with llama.cpp's own reason, including those
 * that trip a llama.cpp assertion (which would abort a process that loaded them), and the JVM running
 * this test lives on to load a good model afterwards.
 */
class BadModelTest {
    private static final RandomModels.Spec SPEC = RandomModels.Spec.olmoe().withName("bad-olmoe");
    private static final String A = SPEC.arch().ggufArch;

    @TempDir
    static Path dir;

    /** A corruption of the OLMoE test model and the words of llama.cpp's reason for refusing it. */
    record Corruption(String name, Consumer<GgufWriter> edit, String reason) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Corruption> catalogue() {
        return Stream.of(
                new Corruption("expert count out of range", w -> set(w, A + ".expert_count", 100_000), "n_expert <= LLAMA_MAX_EXPERTS"),
                new Corruption("experts used above the expert count", w -> set(w, A + ".expert_used_count", 17), "n_expert_used_max <= hparams.n_expert"),
                new Corruption("no layers", w -> set(w, A + ".block_count", 0), "n_layer_all > 0"),
                new Corruption("layer count out of range", w -> set(w, A + ".block_count", 100_000), "LLAMA_MAX_LAYERS"),
                new Corruption("more layers than tensors", w -> set(w, A + ".block_count", 4), "'blk.3.attn_norm.weight' not found"),
                new Corruption("missing router tensor", w -> w.removeTensor("blk.0.ffn_gate_inp.weight"), "'blk.0.ffn_gate_inp.weight' not found"),
                new Corruption("router of the wrong shape", w -> w.removeTensor("blk.1.ffn_gate_inp.weight")
                        .addTensor("blk.1.ffn_gate_inp.weight", TensorType.F32, TensorData.constant(0f, 64 * 15), 64, 15),
                        "'blk.1.ffn_gate_inp.weight' has wrong shape"),
                new Corruption("expert tensor of the wrong shape", w -> w.removeTensor("blk.2.ffn_up_exps.weight")
                        .addTensor("blk.2.ffn_up_exps.weight", TensorType.F32, TensorData.constant(0f, 64L * 32 * 8), 64, 32, 8),
                        "'blk.2.ffn_up_exps.weight' has wrong shape"));
    }

    private static void set(GgufWriter w, String key, long value) {
        w.remove(key).putUInt32(key, value);
    }

    private static Path write(String name, Consumer<GgufWriter> edit) throws IOException {
        GgufWriter w = RandomModels.build(SPEC);
        edit.accept(w);
        Path f = dir.resolve(name.replaceAll("[^a-z0-9]+", "-") + ".gguf");
        w.write(f);
        return f;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("catalogue")
    void aCorruptedModelFailsWithLlamasReason(Corruption c) throws IOException {
        Path f = write(c.name(), c.edit());
        assertThatThrownBy(() -> Model.load(ModelParams.of(f)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(f.toString())
                .hasMessageContaining(c.reason());
        assertAlive();
    }

    @Test
    void aTruncatedModelFailsWithLlamasReason() throws IOException {
        byte[] good = Files.readAllBytes(write("good", w -> { }));
        Path f = Files.write(dir.resolve("truncated.gguf"), Arrays.copyOf(good, good.length / 2));
        assertThatThrownBy(() -> Model.load(ModelParams.of(f)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("data is not within the file bounds");
        assertAlive();
    }

    @Test
    void aModelThatWouldAbortInEmbeddingsModeLoadsButRefusesIt() throws IOException {
        Path f = write("unknown pooling", w -> w.putUInt32(A + ".pooling_type", 7)); // ggml aborts building its pooling
        try (Model m = Model.load(ModelParams.of(f)); Session s = m.newSession(new SessionParams(64, 8, 1, 1, 1))) {
            assertThat(m.embeddingsRefusal()).hasValueSatisfying(r -> assertThat(r).contains("unknown pooling type"));
            assertThatThrownBy(() -> s.setEmbeddings(true))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("unknown pooling type");
            int[] tokens = m.tokenize("ok");
            s.decode(Batch.of(0, 0, tokens)); // plain decoding is unaffected
            assertThat(s.logits(tokens.length - 1)).hasSize(m.info().vocabSize());
        }
        assertAlive();
    }

    /** Header fields llama.cpp sizes things by, set to seeded random edge values. */
    @Test
    void fuzzedHeaderFieldsNeverTakeTheJvmDown() throws IOException {
        List<String> keys = List.of("block_count", "expert_count", "expert_used_count", "embedding_length", "feed_forward_length",
                "attention.head_count", "attention.head_count_kv", "context_length", "rope.dimension_count", "vocab_size");
        long[] values = {0, 1, 2, 3, 5, 15, 17, 63, 65, 513, 100_000, 0x7FFF_FFFFL, 0xFFFF_FFFFL};
        SplittableRandom random = new SplittableRandom(20261129);
        int loaded = 0, refused = 0;
        for (int i : IntStream.range(0, 16).toArray()) {
            String key = A + "." + keys.get(random.nextInt(keys.size()));
            long value = values[random.nextInt(values.length)];
            Path f = write("fuzz-" + i, w -> set(w, key, value));
            try (Model m = Model.load(ModelParams.of(f))) {
                assertThat(m.info().layers()).isPositive();
                loaded++;
            } catch (ModelLoadException e) {
                // the reason is llama.cpp's own: its error lines or the assertion it stopped at
                assertThat(e.getMessage()).as("%s = %d", key, value).containsAnyOf("(llama.cpp: ", "GGML_ASSERT", "aborted");
                refused++;
            }
        }
        assertThat(refused).as("refused of 16 (loaded %d)", loaded).isGreaterThan(0);
        assertAlive();
    }

    @Test
    void aGoodModelIsCheckedOnceAndRemembered() throws IOException {
        Path f = write("remembered", w -> { });
        Path cache = Path.of(System.getProperty(ModelCheck.CACHE_PROPERTY));
        long before = verdictFiles(cache);
        ModelCheck first = ModelCheck.of(f);
        assertThat(first.loads()).isTrue();
        assertThat(first.embeddingsError()).isEmpty();
        assertThat(verdictFiles(cache)).as("the verdict is on disk for the next process").isEqualTo(before + 1);
        assertThat(ModelCheck.of(f)).as("the remembered verdict, not a new check").isSameAs(first);
    }

    private static long verdictFiles(Path cache) throws IOException {
        if (!Files.isDirectory(cache)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(cache)) {
            return files.filter(p -> !p.getFileName().toString().startsWith(".")).count();
        }
    }

    /** The JVM that ran the failed loads still runs a model. */
    private static void assertAlive() {
        Model m = TestModels.olmoe();
        try (Session s = m.newSession(new SessionParams(64, 8, 1, 1, 1))) {
            int[] tokens = m.tokenize("ok");
            s.decode(Batch.of(0, 0, tokens));
            assertThat(s.logits(tokens.length - 1)).hasSize(m.info().vocabSize());
        }
    }
}
