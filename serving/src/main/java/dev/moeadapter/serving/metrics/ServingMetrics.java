package dev.moeadapter.serving.metrics;

import dev.moeadapter.serving.policy.Arm;

/** Where the serving core reports what it did; the host binds it to its metrics backend. */
public interface ServingMetrics {
    /** Reports nothing: for tools and tests that need no metrics. */
    ServingMetrics NONE = new ServingMetrics() {
        @Override
        public void answered(Answered a) {
        }

        @Override
        public void feedback(Arm arm, Boolean correct, Double score) {
        }
    };

    /** One answered request (not one cancelled by its client). */
    void answered(Answered answered);

    /** Feedback on an answer the arm gave: a verdict or a score (exactly one of them). */
    void feedback(Arm arm, Boolean correct, Double score);
}
