package dev.moeadapter.serving.metrics;

import dev.moeadapter.serving.experiment.AnswerRecord;

/** Where the serving core reports what it did; the host binds it to its metrics backend. */
public interface ServingMetrics {
    /** Reports nothing: for tools and tests that need no metrics. */
    ServingMetrics NONE = new ServingMetrics() {
        @Override
        public void answered(Answered a) {
        }

        @Override
        public void feedback(AnswerRecord answer, Boolean correct, Double score) {
        }
    };

    /** One answered request (not one cancelled by its client). */
    void answered(Answered answered);

    /** Feedback on an answer: a verdict or a score (exactly one of them), for what answered it. */
    void feedback(AnswerRecord answer, Boolean correct, Double score);
}
