package dev.moeadapter.serving.experiment;

import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.scmoe.ScmoeSettings;
import dev.moeadapter.scmoe.ScmoeStrategy;
import dev.moeadapter.serving.feedback.FeedbackLedger;
import dev.moeadapter.serving.feedback.UnknownRequestException;
import dev.moeadapter.serving.guard.FallbackReason;
import dev.moeadapter.serving.metrics.ServingMetrics;
import dev.moeadapter.serving.policy.Arm;
import dev.moeadapter.serving.routing.TraceLevel;
import dev.moeadapter.serving.policy.Policy;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;
import static org.assertj.core.api.Assertions.tuple;

class ExperimentReportTest {
    private static final Duration RETENTION = Duration.ofHours(1);
    private static final Arm CONTROL = new Arm("ab", "control", 1, new PlainGeneration(), StrategySettings.NONE, Duration.ofSeconds(1),
            TraceLevel.NONE);
    private static final Arm CONTRAST = new Arm("ab", "contrast", 1, new ScmoeStrategy(ScmoeSettings.DEFAULTS), StrategySettings.NONE,
            Duration.ofSeconds(1), TraceLevel.NONE);
    private static final Policy AB = new Policy("ab", false, List.of(CONTRAST, CONTROL));

    private Instant now = Instant.parse("2026-01-01T00:00:00Z");
    private final Clock clock = new Clock() {
        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    };
    private final InMemoryOutcomeStore store = new InMemoryOutcomeStore(RETENTION, 10_000);
    private final FeedbackLedger ledger = new FeedbackLedger(store, RETENTION, clock, ServingMetrics.NONE);
    private int ids;

    private String answer(Arm arm, FallbackReason fallback) {
        String id = "gen-" + ids++;
        ledger.remember(id, arm, fallback == null ? arm.adaptation() : Arm.PLAIN, fallback);
        return id;
    }

    private ExperimentReport report() {
        return ExperimentReport.of(AB, store.outcomes("ab"), MixtureSprt.DEFAULT, 0.05);
    }

    @Test
    void feedbackOnAFallbackAnswerIsCreditedToPlainGenerationNotToTheArmsAdaptation() {
        ledger.credit(answer(CONTRAST, null), true, null);
        ledger.credit(answer(CONTRAST, FallbackReason.TIME_BUDGET), false, null);
        ledger.credit(answer(CONTRAST, FallbackReason.CIRCUIT_OPEN), null, 0.25);

        ExperimentReport.ArmReport contrast = report().arms().stream().filter(a -> a.arm().equals("contrast")).findFirst().orElseThrow();
        assertThat(contrast.answers()).isEqualTo(3);
        assertThat(contrast.groups()).extracting(ExperimentReport.Group::answeredBy, ExperimentReport.Group::fallback)
                .containsExactly(tuple("none", true), tuple("scmoe", false));
        ExperimentReport.Group own = contrast.groups().get(1), fallback = contrast.groups().get(0);
        assertThat(own.correct().n()).isEqualTo(1);
        assertThat(own.correct().rate()).isEqualTo(1.0);
        assertThat(fallback.correct().rate()).isEqualTo(0.0);
        assertThat(fallback.score().mean()).isEqualTo(0.25);
        assertThat(report().comparisons()).filteredOn(c -> c.metric().equals(ExperimentReport.CORRECT_RATE))
                .singleElement().satisfies(c -> assertThat(c.armN()).isEqualTo(1));
    }

    @Test
    void anAnswerIsCreditedOnceAndOnlyWithinTheRetention() {
        String id = answer(CONTROL, null);
        ledger.credit(id, true, null);
        assertThatThrownBy(() -> ledger.credit(id, true, null)).isInstanceOf(UnknownRequestException.class);
        String old = answer(CONTROL, null);
        now = now.plus(RETENTION).plusSeconds(1);
        assertThatThrownBy(() -> ledger.credit(old, false, null)).isInstanceOf(UnknownRequestException.class);
    }

    @Test
    void comparesEachArmWithThePlainControlAtAnAlphaSplitOverTheComparisons() {
        for (int i = 0; i < 200; i++) {
            ledger.credit(answer(CONTROL, null), i % 2 == 0, null);
            ledger.credit(answer(CONTRAST, null), i % 5 != 0, null);
        }
        ExperimentReport r = report();
        assertThat(r.control()).isEqualTo("control");
        assertThat(r.method().alphaPerComparison()).isEqualTo(0.025);
        assertThat(r.comparisons()).extracting(ExperimentReport.Comparison::metric, ExperimentReport.Comparison::decision)
                .containsExactly(tuple("correct_rate", "arm_higher"),
                        tuple("mean_score", "not_enough_data"));
        ExperimentReport.Comparison c = r.comparisons().getFirst();
        assertThat(c.difference()).isCloseTo(0.3, offset(1e-9));
        assertThat(c.sequence().low()).isPositive();
        ExperimentReport.Rate control = r.arms().stream().filter(a -> a.arm().equals("control")).findFirst().orElseThrow()
                .groups().getFirst().correct();
        assertThat(control.ci95().contains(0.5)).isTrue();
    }

    @Test
    void aPolicyWithoutAPlainArmComparesNothing() {
        Policy onlyContrast = new Policy("c", false, List.of(CONTRAST));
        assertThat(ExperimentReport.of(onlyContrast, List.of(), MixtureSprt.DEFAULT, 0.05).comparisons()).isEmpty();
    }
}
