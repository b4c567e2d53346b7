package dev.moeadapter.serving.generation;

import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.engine.ChatMessage;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.generation.FinishReason;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.testmodels.TestModels;
import dev.moeadapter.scmoe.ScmoeSettings;
import dev.moeadapter.scmoe.ScmoeStrategy;
import dev.moeadapter.serving.AdaptationRegistry;
import dev.moeadapter.serving.BadParameterException;
import dev.moeadapter.serving.admission.Admission;
import dev.moeadapter.serving.admission.PoolExhaustedException;
import dev.moeadapter.serving.experiment.AnswerRecord;
import dev.moeadapter.serving.experiment.InMemoryOutcomeStore;
import dev.moeadapter.serving.feedback.FeedbackLedger;
import dev.moeadapter.serving.guard.ArmGuards;
import dev.moeadapter.serving.guard.BreakerSettings;
import dev.moeadapter.serving.metrics.Answered;
import dev.moeadapter.serving.metrics.ServingMetrics;
import dev.moeadapter.serving.policy.Arm;
import dev.moeadapter.serving.policy.PolicyRouter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The serving core without any framework: built from its builders over a real model, it answers on
 * the arm asked for with a typed outcome, reports each answer to its metrics hook, refuses bad
 * parameters naming the field, and admits no more requests than it has sessions.
 */
class GenerationServiceTest {
    private static final List<Answered> ANSWERED = new ArrayList<>();
    private static SessionPool pool;
    private static ArmGuards guards;
    private static GenerationService service;

    @BeforeAll
    static void build() {
        Model model = TestModels.olmoe();
        AdaptationRegistry strategies = new AdaptationRegistry(List.of(new PlainGeneration(), new ScmoeStrategy(ScmoeSettings.DEFAULTS)));
        PolicyRouter policies = PolicyRouter.builder(strategies, model.info()).build();
        pool = new SessionPool(model, new SessionParams(256 * policies.maxSequences(), 64, policies.maxSequences(), 1, 1), 1);
        guards = new ArmGuards(BreakerSettings.DEFAULTS, policies.policies(), strategies.get(Arm.PLAIN));
        ServingMetrics metrics = new ServingMetrics() {
            @Override
            public synchronized void answered(Answered a) {
                ANSWERED.add(a);
            }

            @Override
            public void feedback(AnswerRecord answer, Boolean correct, Double score) {
            }
        };
        service = GenerationService.builder().model(model).pool(pool).strategies(strategies).policies(policies)
                .admission(new Admission(pool.size(), Duration.ZERO, 0)).guards(guards).metrics(metrics)
                .ledger(new FeedbackLedger(new InMemoryOutcomeStore(Duration.ofMinutes(1), 100), Duration.ofMinutes(1), Clock.systemUTC(), metrics))
                .limits(new GenerationLimits(256, 16, new GenerationLimits.SamplingDefaults(4, 0, 0, 1, 0), 1 << 20))
                .build();
    }

    @AfterAll
    static void close() {
        guards.close();
        pool.close();
    }

    private static GenerationCommand command(String prompt, List<ChatMessage> messages, Integer maxTokens, Double temperature, String arm) {
        return new GenerationCommand(prompt, messages, maxTokens, temperature, null, null, null, null, null, null, arm, null, null, null);
    }

    @Test
    void answersOnTheArmAskedForAndReportsIt() {
        int before = ANSWERED.size();
        GenerationOutcome plain = service.generate(command("Once upon a time", null, null, null, "none"), TokenListener.NONE,
                new CancellationToken());
        assertThat(plain.arm()).isEqualTo("none");
        assertThat(plain.fallback()).isNull();
        assertThat(plain.completionTokens()).isBetween(1, 4);
        assertThat(plain.routing().mean()).as("plain generation moves nothing").isZero();
        GenerationOutcome contrast = service.generate(command(null, List.of(new ChatMessage("user", "hi")), 3, null, "scmoe"),
                TokenListener.NONE, new CancellationToken());
        assertThat(contrast.adaptation()).isEqualTo("scmoe");
        assertThat(contrast.routing()).isNotNull();
        assertThat(ANSWERED.subList(before, ANSWERED.size())).extracting(a -> a.arm().name(), Answered::operation)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("none", "text_completion"), org.assertj.core.groups.Tuple.tuple("scmoe", "chat"));
    }

    /**
     * The context (256 tokens here) holds the prompt and the answer: a one-sequence arm on a session of
     * several sequences' cells would otherwise grow past it into the others' cells.
     */
    @Test
    void anAnswerEndsWhereThePromptAndItFillTheContext() {
        Model model = TestModels.olmoe();
        StringBuilder text = new StringBuilder("Once upon a time");
        while (model.tokenize(text + " and then", true, false).length < 254) {
            text.append(" and then");
        }
        int promptTokens = model.tokenize(text.toString(), true, false).length;
        assertThat(promptTokens).isBetween(248, 253);
        GenerationOutcome o = service.generate(command(text.toString(), null, 16, null, "none"), TokenListener.NONE, new CancellationToken());
        assertThat(o.promptTokens()).isEqualTo(promptTokens);
        assertThat(o.promptTokens() + o.completionTokens()).as("prompt and answer").isLessThanOrEqualTo(256);
        assertThat(o.finishReason()).as(o.text()).isIn(FinishReason.CONTEXT_FULL, FinishReason.END_OF_GENERATION);
        if (o.finishReason() == FinishReason.CONTEXT_FULL) {
            assertThat(o.promptTokens() + o.completionTokens()).isEqualTo(256);
        }
    }

    @Test
    void refusesBadParametersNamingTheField() {
        assertThatThrownBy(() -> service.prepare(command("x", null, 17, null, null)))
                .isInstanceOfSatisfying(BadParameterException.class, e -> assertThat(e.param()).isEqualTo("max_tokens"));
        assertThatThrownBy(() -> service.prepare(command("x", null, null, -1.0, null)))
                .isInstanceOfSatisfying(BadParameterException.class, e -> assertThat(e.param()).isEqualTo("temperature"));
        assertThatThrownBy(() -> service.prepare(command(null, null, null, null, null)))
                .isInstanceOfSatisfying(BadParameterException.class, e -> assertThat(e.param()).isEqualTo("prompt"));
        assertThatThrownBy(() -> service.prepare(command("x".repeat(2000), null, null, null, null)))
                .isInstanceOfSatisfying(BadParameterException.class, e -> assertThat(e.code()).isEqualTo(BadParameterException.CONTEXT_LENGTH_EXCEEDED));
    }

    @Test
    void admitsNoMoreRequestsThanSessions() {
        try (GenerationService.Prepared held = service.prepare(command("Once", null, 1, null, null))) {
            assertThat(held.id()).startsWith("gen-");
            assertThatThrownBy(() -> service.prepare(command("Once", null, 1, null, null))).isInstanceOf(PoolExhaustedException.class);
        }
        service.prepare(command("Once", null, 1, null, null)).close(); // the permit and the session came back
    }
}
