package dev.moeadapter.serving.feedback;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.serving.BadParameterException;
import dev.moeadapter.serving.metrics.ServingMetrics;
import dev.moeadapter.serving.policy.Arm;

import java.time.Duration;

/**
 * Which arm answered each recent request, so that feedback on an answer credits that arm (the arm
 * assigned, also when plain generation stood in for it: the comparison is by assignment). Bounded in
 * size and time; an answer can be credited once.
 */
public final class FeedbackLedger {
    /** Scores are fractions (of full marks): bounded, so that no few scores can swamp an arm's mean. */
    static final double MIN_SCORE = 0, MAX_SCORE = 1;

    private final Cache<String, Arm> answers;
    private final ServingMetrics metrics;

    public FeedbackLedger(Duration retention, long maxEntries, ServingMetrics metrics) {
        this.answers = Caffeine.newBuilder().maximumSize(maxEntries).expireAfterWrite(retention).recordStats().build();
        this.metrics = metrics;
    }

    /** The ledger's cache, for metrics binders. */
    public Cache<String, Arm> cache() {
        return answers;
    }

    public void remember(String requestId, Arm arm) {
        answers.put(requestId, arm);
    }

    /**
     * Credits the arm that answered {@code requestId} with a verdict or a score (exactly one).
     *
     * @return the arm credited
     * @throws InvalidRequestException        neither or both of verdict and score, or a score outside [0, 1]
     * @throws UnknownRequestException        no answer with this id is remembered (unknown, expired, or already credited)
     */
    public Arm credit(String requestId, Boolean correct, Double score) {
        if (requestId == null || requestId.isBlank()) {
            throw new InvalidRequestException("give the 'request_id' of the answer");
        }
        if ((correct == null) == (score == null)) {
            throw new InvalidRequestException("give exactly one of 'correct' (true/false) and 'score' (a number)");
        }
        if (score != null && !(score >= MIN_SCORE && score <= MAX_SCORE)) {
            throw new BadParameterException("score", "'score' must be in [0, 1], got " + score);
        }
        Arm arm = answers.asMap().remove(requestId);
        if (arm == null) {
            throw new UnknownRequestException("no answer '" + requestId + "' to credit: unknown, older than the retention, or already credited");
        }
        metrics.feedback(arm, correct, score);
        return arm;
    }
}
