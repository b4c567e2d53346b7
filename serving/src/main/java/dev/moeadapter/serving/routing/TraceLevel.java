package dev.moeadapter.serving.routing;

/**
 * How much of its routing an arm lets a client read where the policy does not allow overrides
 * (where it does, a client may read all of it): a routing trace shows a caller which arm answered.
 */
public enum TraceLevel {
    /** no routing trace */
    NONE,
    /** selected experts and their weights */
    EXPERTS,
    /** besides, full router probabilities of chosen layers */
    PROBABILITIES;

    public boolean allows(TraceLevel asked) {
        return compareTo(asked) >= 0;
    }
}
