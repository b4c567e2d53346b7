package dev.moeadapter.spring.experiment;

import dev.moeadapter.serving.experiment.AnswerRecord;
import dev.moeadapter.serving.experiment.ArmOutcomes;
import dev.moeadapter.serving.experiment.OutcomeStore;
import dev.moeadapter.serving.experiment.Sample;
import dev.moeadapter.serving.guard.FallbackReason;
import org.springframework.jdbc.core.simple.JdbcClient;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Answers and feedback in a relational database (table {@code moe_adapter_answer}, see the Flyway
 * migrations beside this class's package): every replica sharing the database shares the totals,
 * and they survive restarts. Totals are summed by the database at each report.
 */
public final class JdbcOutcomeStore implements OutcomeStore {
    private final JdbcClient jdbc;

    public JdbcOutcomeStore(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    @Override
    public void answered(AnswerRecord a) {
        jdbc.sql("INSERT INTO moe_adapter_answer (request_id, policy, arm, answered_by, fallback, answered_at) VALUES (?, ?, ?, ?, ?, ?)")
                .params(a.requestId(), a.policy(), a.arm(), a.answeredBy(), a.fallback() == null ? null : a.fallback().name(), utc(a.at()))
                .update();
    }

    /** The update decides: of two replicas crediting one answer, the database lets one change the row. */
    @Override
    public Optional<AnswerRecord> credit(String requestId, Boolean correct, Double score, Instant answeredSince, Instant at) {
        int updated = jdbc.sql("UPDATE moe_adapter_answer SET correct = ?, score = ?, credited_at = ? "
                        + "WHERE request_id = ? AND credited_at IS NULL AND answered_at >= ?")
                .params(correct, score, utc(at), requestId, utc(answeredSince)).update();
        if (updated == 0) {
            return Optional.empty();
        }
        return jdbc.sql("SELECT request_id, policy, arm, answered_by, fallback, answered_at FROM moe_adapter_answer WHERE request_id = ?")
                .param(requestId)
                .query((rs, row) -> new AnswerRecord(rs.getString("request_id"), rs.getString("policy"), rs.getString("arm"),
                        rs.getString("answered_by"), fallback(rs.getString("fallback")),
                        rs.getObject("answered_at", OffsetDateTime.class).toInstant()))
                .optional();
    }

    @Override
    public List<ArmOutcomes> outcomes(String policy) {
        return jdbc.sql("""
                        SELECT arm, answered_by, COUNT(*) AS answers,
                               COUNT(correct) AS verdicts, SUM(CASE WHEN correct THEN 1 ELSE 0 END) AS correct,
                               COUNT(score) AS scores, SUM(score) AS score_sum, SUM(score * score) AS score_squares
                        FROM moe_adapter_answer WHERE policy = ? GROUP BY arm, answered_by""")
                .param(policy)
                .query((rs, row) -> {
                    long verdicts = rs.getLong("verdicts"), correct = rs.getLong("correct");
                    return new ArmOutcomes(rs.getString("arm"), rs.getString("answered_by"), rs.getLong("answers"),
                            Sample.bernoulli(verdicts, correct),
                            new Sample(rs.getLong("scores"), rs.getDouble("score_sum"), rs.getDouble("score_squares")));
                })
                .list();
    }

    private static OffsetDateTime utc(Instant at) {
        return at.atOffset(ZoneOffset.UTC);
    }

    private static FallbackReason fallback(String name) {
        return name == null ? null : FallbackReason.valueOf(name.toUpperCase(Locale.ROOT));
    }
}
