package dev.moeadapter.serving.policy;

import dev.moeadapter.serving.routing.TraceLevel;

import java.time.Duration;
import java.util.Map;

/**
 * A policy as configured: its arms by name, and whether a request may name its arm or send settings.
 */
public record PolicySpec(boolean allowOverride, Map<String, ArmSpec> arms) {
    public PolicySpec {
        arms = Map.copyOf(arms);
    }

    /**
     * An arm as configured.
     *
     * @param adaptation the strategy's name
     * @param settings   the strategy's settings for this arm (empty for its defaults)
     * @param timeBudget the arm's time budget, or null for the service's
     * @param routingTrace how much of its routing a client may read where the policy allows no overrides (null: none)
     */
    public record ArmSpec(String adaptation, double weight, Map<String, String> settings, Duration timeBudget, TraceLevel routingTrace) {
        public ArmSpec {
            settings = settings == null ? Map.of() : Map.copyOf(settings);
            routingTrace = routingTrace == null ? TraceLevel.NONE : routingTrace;
        }
    }
}
