package dev.moeadapter.serving.experiment;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Where answers and their feedback are kept: the data of every A/B comparison. Replicas of the
 * service sharing one store share one experiment: feedback may reach any of them.
 */
public interface OutcomeStore {
    void answered(AnswerRecord answer);

    /**
     * Records feedback on an answer given at or after {@code answeredSince} and not yet credited;
     * exactly one of {@code correct} and {@code score}. Crediting is atomic: of two concurrent
     * credits of one answer, one wins.
     *
     * @return the answer credited, or empty when there is none to credit
     */
    Optional<AnswerRecord> credit(String requestId, Boolean correct, Double score, Instant answeredSince, Instant at);

    /** The totals of the policy's answers, per arm and adaptation that answered. */
    List<ArmOutcomes> outcomes(String policy);
}
