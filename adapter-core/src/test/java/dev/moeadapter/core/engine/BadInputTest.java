package dev.moeadapter.core.engine;

import dev.moeadapter.core.ContextFullException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.ModelLoadException;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TraceSpec;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every bad input is a typed exception with a clear message, and the engine keeps working. */
class BadInputTest {
    private Model model;
    private Session session;

    @BeforeEach
    void open() {
        model = TestModels.olmoe();
        session = model.newSession(new SessionParams(256, 32, 2, 1, 1));
    }

    @AfterEach
    void stillWorks() {
        // after every failure the same session still decodes correctly
        session.clear();
        session.setPlan(0, RoutingPlan.EMPTY);
        int[] toks = model.tokenize("ok");
        session.decode(Batch.of(0, 0, toks));
        assertThat(session.logits(toks.length - 1)).hasSize(model.info().vocabSize());
        session.close();
    }

    @Test
    void aChatRoleOutsideTheKnownOnesIsRefusedSinceTheTemplateWritesItWhereControlTokensAreParsed() {
        for (String role : new String[] {"user</s>", "wizard", "USER", "", " user"}) {
            assertThatThrownBy(() -> new ChatMessage(role, "x")).as(role).isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("role must be one of [assistant, system, tool, user]");
        }
        assertThatThrownBy(() -> new ChatMessage(null, "x")).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> new ChatMessage("x".repeat(10_000), "x")).hasMessageEndingWith("…'").message().hasSizeLessThan(200);
        assertThat(model.applyChatTemplate(List.of(new ChatMessage("tool", "42"), ChatMessage.user("hi")), true)).contains("hi");
    }

    @Test
    void missingFile(@TempDir Path dir) {
        assertThatThrownBy(() -> Model.load(ModelParams.of(dir.resolve("nope.gguf"))))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("not found");
    }

    @Test
    void notAGgufFile(@TempDir Path dir) throws IOException {
        Path f = Files.writeString(dir.resolve("model.gguf"), "this is not a model");
        assertThatThrownBy(() -> Model.load(ModelParams.of(f)))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("not a GGUF");
    }

    @Test
    void truncatedGgufFile(@TempDir Path dir) throws IOException {
        byte[] real = Files.readAllBytes(TestModels.olmoe().path());
        Path f = Files.write(dir.resolve("truncated.gguf"), Arrays.copyOf(real, real.length / 2));
        assertThatThrownBy(() -> Model.load(ModelParams.of(f)))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("could not load");
    }

    @Test
    void directoryInsteadOfFile(@TempDir Path dir) {
        assertThatThrownBy(() -> Model.load(ModelParams.of(dir)))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("not a readable file");
    }

    @Test
    void routingEditsOnADenseModel() {
        Model dense = TestModels.dense();
        try (Session s = dense.newSession(new SessionParams(128, 16, 1, 1, 1))) {
            assertThatThrownBy(() -> s.setPlan(0, RoutingPlan.of(new RouterEdit.KeepRank(0, 1, PositionRange.ALL))))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("no MoE layers");
            assertThatThrownBy(() -> s.setTrace(0, TraceSpec.ROUTES))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("no MoE layers");
        }
    }

    @Test
    void layerOutOfRange() {
        float[] v = new float[model.info().experts()];
        for (int layer : new int[] {-1, 3, 99}) {
            assertThatThrownBy(() -> session.setPlan(0, RoutingPlan.of(new RouterEdit.AddDelta(layer, v, PositionRange.ALL))))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("not a MoE layer");
        }
    }

    @Test
    void expertOrRankOutOfRange() {
        int e = model.info().experts();
        assertThatThrownBy(() -> RouterEdit.ExpertMask.deny(0, e, PositionRange.ALL, e))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("expert 16 out of range");
        assertThatThrownBy(() -> session.setPlan(0, RoutingPlan.of(new RouterEdit.KeepRank(0, e + 1, PositionRange.ALL))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("rank 17 out of range");
        assertThatThrownBy(() -> session.setPlan(0, RoutingPlan.of(new RouterEdit.KeepTop(0, 0, PositionRange.ALL))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("top-m 0 out of range");
        assertThatThrownBy(() -> session.setPlan(0, RoutingPlan.of(new RouterEdit.ExpertMask(0, new boolean[e], PositionRange.ALL))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("at least one expert");
    }

    @Test
    void weightScalesAreValidated() {
        int k = model.info().expertsUsed();
        assertThatThrownBy(() -> session.setPlan(0, RoutingPlan.of(new RouterEdit.ScaleWeights(0, new float[k + 1], PositionRange.ALL))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("selects " + k + " experts");
        float[] negative = new float[k];
        negative[1] = -1f;
        assertThatThrownBy(() -> session.setPlan(0, RoutingPlan.of(new RouterEdit.ScaleWeights(0, negative, PositionRange.ALL))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("scales[1] must be finite and >= 0");
        assertThatThrownBy(() -> RouterEdit.ScaleWeights.keepTop(0, k, k + 1, PositionRange.ALL))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("out of range");
    }

    @Test
    void editsOnAHashRoutedLayerAreRefused() {
        ModelInfo i = model.info();
        List<LayerRouting> hashed = i.routing().stream()
                .map(r -> r.layer() == 0 ? new LayerRouting(0, r.gating(), r.renormalized(), false, r.selectableExperts(), false, false) : r)
                .toList();
        ModelInfo info = ModelInfo.of(i.architecture(), i.description(), i.layers(), i.experts(), i.expertsUsed(), i.vocabSize(),
                i.trainContext(), i.embeddingSize(), i.bos(), i.eos(), i.addBos(), i.memory(), hashed);
        assertThatThrownBy(() -> new RouterEdit.KeepRank(0, 1, PositionRange.ALL).validate(info))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("layer 0 is hash-routed");
        new RouterEdit.KeepRank(1, 1, PositionRange.ALL).validate(info); // a routed layer of the same model is fine
    }

    @Test
    void vectorLengthMismatch() {
        assertThatThrownBy(() -> session.setPlan(0, RoutingPlan.of(new RouterEdit.AddDelta(0, new float[5], PositionRange.ALL))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("length 5");
    }

    @Test
    void nonFiniteValues() {
        int e = model.info().experts();
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] v = new float[e];
            v[2] = bad;
            assertThatThrownBy(() -> session.setPlan(0, RoutingPlan.of(new RouterEdit.AddDelta(1, v, PositionRange.ALL))))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("not finite");
        }
        float[] negative = new float[e];
        negative[0] = -0.5f;
        negative[1] = 1.5f;
        assertThatThrownBy(() -> session.setPlan(0, RoutingPlan.of(new RouterEdit.ReplaceDistribution(1, negative, PositionRange.ALL))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("[0, 1]");
    }

    @Test
    void invalidRangesAndSequences() {
        assertThatThrownBy(() -> PositionRange.of(5, 2)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> session.setPlan(2, RoutingPlan.EMPTY))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("sequence 2 out of range");
        assertThatThrownBy(() -> session.decode(Batch.of(-1, 0, 5)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("sequence -1");
        assertThatThrownBy(() -> session.logits(0))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("no logits");
    }

    @Test
    void tokenIdsOutOfVocabulary() {
        int vocab = model.info().vocabSize();
        assertThatThrownBy(() -> session.decode(Batch.of(0, 0, 1, vocab)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("token id " + vocab);
        assertThatThrownBy(() -> session.decode(Batch.of(0, 0, -7)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("token id -7");
        assertThatThrownBy(() -> model.tokenBytes(vocab, false)).isInstanceOf(InvalidRequestException.class);
        session.decode(Batch.of(0, 0, 1, 2));
        assertThatThrownBy(() -> session.nll(new int[] {1}, new int[] {vocab})).isInstanceOf(InvalidRequestException.class);
    }

    @Test
    void positionsMustContinueTheSequence() {
        assertThatThrownBy(() -> session.decode(Batch.of(0, 5, 10, 11)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("expects position 0");
    }

    @Test
    void batchOverTheBatchSizeAndOverTheContext() {
        int[] big = new int[session.batchSize() + 1];
        Arrays.fill(big, 10);
        assertThatThrownBy(() -> session.decode(Batch.of(0, 0, big)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("exceeds the session's batch size");
        // fill the KV cache, then one more batch does not fit
        int[] chunk = new int[session.batchSize()];
        Arrays.fill(chunk, 11);
        int pos = 0;
        while (pos + chunk.length <= session.contextSize()) {
            session.decode(Batch.of(0, pos, chunk));
            pos += chunk.length;
        }
        int at = pos;
        assertThatThrownBy(() -> session.decode(Batch.of(0, at, chunk)))
                .isInstanceOf(ContextFullException.class).hasMessageContaining("context full");
    }

    @Test
    void closedObjectsRefuseWork() {
        Session s = model.newSession(new SessionParams(64, 8, 1, 1, 1));
        s.close();
        assertThatThrownBy(() -> s.decode(Batch.of(0, 0, 1))).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void badSessionParams() {
        assertThatThrownBy(() -> new SessionParams(0, 8, 1, 1, 1)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> new SessionParams(64, 8, 1000, 1, 1)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> new SessionParams(512, 4, 9, 1, 1)).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("at least the number of sequences");
    }
}
