package dev.moeadapter.serving.experiment;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Outcomes in this process's memory: totals since startup, and the answers awaiting feedback in a
 * cache bounded in size and age. For hosts without a database; lost on restart.
 */
public final class InMemoryOutcomeStore implements OutcomeStore {
    private final Cache<String, AnswerRecord> pending;
    private final Map<Key, Totals> totals = new ConcurrentHashMap<>();

    public InMemoryOutcomeStore(Duration retention, long maxPending) {
        this.pending = Caffeine.newBuilder().maximumSize(maxPending).expireAfterWrite(retention).recordStats().build();
    }

    /** The answers awaiting feedback, for metrics binders. */
    public Cache<String, AnswerRecord> pending() {
        return pending;
    }

    @Override
    public void answered(AnswerRecord a) {
        pending.put(a.requestId(), a);
        totals.compute(new Key(a.policy(), a.arm(), a.answeredBy()), (k, t) -> (t == null ? Totals.NONE : t).answered());
    }

    @Override
    public Optional<AnswerRecord> credit(String requestId, Boolean correct, Double score, Instant answeredSince, Instant at) {
        AnswerRecord a = pending.asMap().remove(requestId);
        if (a == null || a.at().isBefore(answeredSince)) {
            return Optional.empty();
        }
        totals.compute(new Key(a.policy(), a.arm(), a.answeredBy()), (k, t) -> (t == null ? Totals.NONE : t).credited(correct, score));
        return Optional.of(a);
    }

    @Override
    public List<ArmOutcomes> outcomes(String policy) {
        List<ArmOutcomes> out = new ArrayList<>();
        totals.forEach((k, t) -> {
            if (k.policy().equals(policy)) {
                out.add(new ArmOutcomes(k.arm(), k.answeredBy(), t.answers(), t.verdicts(), t.scores()));
            }
        });
        return out;
    }

    private record Key(String policy, String arm, String answeredBy) {
    }

    private record Totals(long answers, Sample verdicts, Sample scores) {
        static final Totals NONE = new Totals(0, Sample.EMPTY, Sample.EMPTY);

        Totals answered() {
            return new Totals(answers + 1, verdicts, scores);
        }

        Totals credited(Boolean correct, Double score) {
            return correct != null ? new Totals(answers, verdicts.plus(Sample.bernoulli(1, correct ? 1 : 0)), scores)
                    : new Totals(answers, verdicts, scores.plus(new Sample(1, score, score * score)));
        }
    }
}
