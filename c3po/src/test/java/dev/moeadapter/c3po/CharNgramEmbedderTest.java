package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.optim.Vectors;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CharNgramEmbedderTest {
    @Test
    void isDeterministicAndPutsSimilarTextsNearer() {
        Embedder e = new CharNgramEmbedder();
        float[] a = e.embed("REV:abc=cba,hgde=edgh,bfa=", null);
        assertThat(e.embed("REV:abc=cba,hgde=edgh,bfa=", null)).containsExactly(a);
        assertThat(a).hasSize(CharNgramEmbedder.DIMENSION);
        double sameTag = Vectors.cosine(a, e.embed("REV:dca=acd,hgfe=efgh,bda=", null));
        double otherTag = Vectors.cosine(a, e.embed("SRT:dca=acd,hgfe=efgh,bda=", null));
        double unrelated = Vectors.cosine(a, e.embed("Once upon a time there was", null));
        assertThat(sameTag).isGreaterThan(otherTag).isGreaterThan(unrelated);
        assertThat(e.embed("", null)).as("too short for a trigram").containsOnly(0f);
    }

    @Test
    void builtInEmbeddersAreFoundByTheirIds() {
        assertThat(Embedder.builtIn(CharNgramEmbedder.ID)).isInstanceOf(CharNgramEmbedder.class);
        assertThat(Embedder.builtIn(HiddenStateEmbedder.ID)).isInstanceOf(HiddenStateEmbedder.class);
        assertThatThrownBy(() -> Embedder.builtIn("all-MiniLM-L6-v2")).isInstanceOf(InvalidRequestException.class).hasMessageContaining("no built-in embedder");
    }

    /** A reference set built with the text embedder serves C3PO, and its neighbours share the query's task. */
    @Test
    void aReferenceSetBuiltWithItFindsNeighboursOfTheSameTask() {
        Model model = TestModels.olmoe();
        Path file = Fixtures.build(model, Fixtures.answeredCorrectly(model,
                Stream.concat(C3poStrategyTest.SUMS.stream(), C3poStrategyTest.WORDS.stream()).toList()), new CharNgramEmbedder());
        C3poSettings settings = C3poSettings.DEFAULTS.withAlgorithm(Algorithm.byLabel("kr-paper"));
        try (ReferenceSet refs = ReferenceSet.load(file, model); Session s = Fixtures.session(model, settings.sequencesNeeded())) {
            assertThat(refs.header().embedderId()).isEqualTo(CharNgramEmbedder.ID);
            Adaptation a = new C3poStrategy(refs, new CharNgramEmbedder(), settings).adapt(s, model.tokenize(C3poStrategyTest.QUERY), new CancellationToken());
            assertThat(a.adapted()).isTrue();
            assertThat(a.neighbours()).hasSize(3).allSatisfy(n -> assertThat(n.id()).isIn("ref-0", "ref-1", "ref-2", "ref-3", "ref-4"));
            assertThatThrownBy(() -> new C3poStrategy(refs, new HiddenStateEmbedder(), settings)).isInstanceOf(ReferenceSetMismatchException.class);
        }
    }
}
