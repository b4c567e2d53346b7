package dev.moeadapter.serving.policy;

import dev.moeadapter.core.adaptation.AdaptationStrategy;

/**
 * The arm a request runs on, how it was chosen, and the strategy to run (the arm's, with the
 * request's own settings applied where the policy allows them; {@code asConfigured}: the request
 * sent none, so its outcome speaks for the arm as configured).
 */
public record Assignment(Policy policy, Arm arm, AdaptationStrategy strategy, Basis basis, boolean asConfigured) {
    /** How the arm was chosen. */
    public enum Basis {
        /** by hashing the caller key: the same caller gets the same arm */
        CALLER,
        /** at random by weight: the request had no caller key */
        RANDOM,
        /** named by the request, which the policy allows */
        REQUEST
    }
}
