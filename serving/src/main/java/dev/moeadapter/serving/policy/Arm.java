package dev.moeadapter.serving.policy;

import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.serving.routing.TraceLevel;

import java.time.Duration;

/**
 * One arm of a policy: an adaptation strategy with its settings applied, a weight, and the time
 * its adaptation may take before its first token.
 *
 * @param routingTrace how much of its routing a client may read where the policy allows no overrides
 */
public record Arm(String policy, String name, double weight, AdaptationStrategy strategy, StrategySettings settings,
                  Duration timeBudget, TraceLevel routingTrace) {
    /** The name of the strategy that runs plain generation; its arms need no guards. */
    public static final String PLAIN = "none";

    public String adaptation() {
        return strategy.name();
    }

    public boolean isPlain() {
        return PLAIN.equals(strategy.name());
    }

    /** "policy/arm": the arm's name across policies, e.g. for its circuit breaker. */
    public String key() {
        return policy + "/" + name;
    }
}
