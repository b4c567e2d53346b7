package dev.moeadapter.serving.experiment;

/**
 * The totals of one arm's answers that one adaptation produced (the arm's own, or plain generation
 * after a fallback).
 *
 * @param answers  answers given
 * @param verdicts correct/incorrect feedback: n and the number correct
 * @param scores   scores received, in [0, 1]
 */
public record ArmOutcomes(String arm, String answeredBy, long answers, Sample verdicts, Sample scores) {
}
