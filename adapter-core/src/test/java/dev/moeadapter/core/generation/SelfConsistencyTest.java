package dev.moeadapter.core.generation;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SelfConsistencyTest {
    private static GenerationResult text(String s) {
        return new GenerationResult(s, new int[0], 1, FinishReason.END_OF_GENERATION, 0, 0);
    }

    @Test
    void majorityWinsAndTiesGoToTheFirstSeen() {
        List<String> texts = List.of("answer: 7", "no idea", "answer: 5", "answer: 7", "answer: 5");
        var vote = SelfConsistency.vote(texts.size(), i -> text(texts.get(i)),
                t -> t.startsWith("answer: ") ? Optional.of(t.substring(8)) : Optional.empty());
        assertThat(vote.answer()).contains("7");
        assertThat(vote.votes()).isEqualTo(2);
        assertThat(vote.extracted()).hasSize(5).contains(Optional.empty());
        assertThat(SelfConsistency.vote(1, i -> text("nothing"), t -> Optional.empty()).answer()).isEmpty();
        assertThatThrownBy(() -> SelfConsistency.vote(0, i -> text(""), t -> Optional.empty())).isInstanceOf(InvalidRequestException.class);
    }

    @Test
    void votesOverRealSampledGenerations() {
        Model m = TestModels.olmoe();
        try (Session s = m.newSession(new SessionParams(256, 32, 1, 1, 1))) {
            Generator g = new Generator(s, 0);
            GenerationRequest req = GenerationRequest.greedy(m.tokenize("pick:"), 3).withIgnoreEos(true);
            var vote = SelfConsistency.vote(6, i -> g.generate(req.withSampling(SamplingParams.temperature(1.0, i))),
                    t -> t.isEmpty() ? Optional.empty() : Optional.of(t.substring(0, 1)));
            assertThat(vote.samples()).hasSize(6);
            long agreeing = vote.extracted().stream().filter(a -> a.equals(vote.answer())).count();
            assertThat(agreeing).isEqualTo(vote.votes()).isPositive();
        }
    }
}
