package dev.moeadapter.serving.feedback;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.serving.BadParameterException;
import dev.moeadapter.serving.experiment.AnswerRecord;
import dev.moeadapter.serving.experiment.OutcomeStore;
import dev.moeadapter.serving.guard.FallbackReason;
import dev.moeadapter.serving.metrics.ServingMetrics;
import dev.moeadapter.serving.policy.Arm;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;

/**
 * Records each answer with what actually answered it (the arm's adaptation, or plain generation
 * after a fallback), so that feedback on it credits that, and checks feedback before it reaches the
 * {@link OutcomeStore}. An answer can be credited once, within the retention.
 */
public final class FeedbackLedger {
    private static final Logger LOG = LoggerFactory.getLogger(FeedbackLedger.class);
    /** Scores are fractions (of full marks): bounded, so that no few scores can swamp an arm's mean. */
    static final double MIN_SCORE = 0, MAX_SCORE = 1;

    private final OutcomeStore store;
    private final Duration retention;
    private final Clock clock;
    private final ServingMetrics metrics;

    public FeedbackLedger(OutcomeStore store, Duration retention, Clock clock, ServingMetrics metrics) {
        this.store = store;
        this.retention = retention;
        this.clock = clock;
        this.metrics = metrics;
    }

    /**
     * @param answeredBy the adaptation that produced the answer
     * @param fallback   why plain generation answered instead of the arm's adaptation, or null
     */
    public void remember(String requestId, Arm arm, String answeredBy, FallbackReason fallback) {
        try {
            store.answered(new AnswerRecord(requestId, arm.policy(), arm.name(), answeredBy, fallback, clock.instant()));
        } catch (RuntimeException e) { // the client still gets its answer; the experiment misses it, and says so
            LOG.warn("answer {} of {} not recorded for the A/B results: {}", requestId, arm.key(), e.toString());
        }
    }

    /**
     * Credits what answered {@code requestId} with a verdict or a score (exactly one).
     *
     * @return the answer credited
     * @throws InvalidRequestException neither or both of verdict and score, or a score outside [0, 1]
     * @throws UnknownRequestException no answer with this id awaits feedback (unknown, expired, or already credited)
     */
    public AnswerRecord credit(String requestId, Boolean correct, Double score) {
        if (requestId == null || requestId.isBlank()) {
            throw new InvalidRequestException("give the 'request_id' of the answer");
        }
        if ((correct == null) == (score == null)) {
            throw new InvalidRequestException("give exactly one of 'correct' (true/false) and 'score' (a number)");
        }
        if (score != null && !(score >= MIN_SCORE && score <= MAX_SCORE)) {
            throw new BadParameterException("score", "'score' must be in [0, 1], got " + score);
        }
        var now = clock.instant();
        AnswerRecord answer = store.credit(requestId, correct, score, now.minus(retention), now).orElseThrow(() -> new UnknownRequestException(
                "no answer '" + requestId + "' to credit: unknown, older than the retention, or already credited"));
        metrics.feedback(answer, correct, score);
        return answer;
    }
}
