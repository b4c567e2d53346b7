package dev.moeadapter.serving.guard;

import java.util.Locale;

/** Why an arm's answer came from plain generation instead of its adaptation. */
public enum FallbackReason {
    /** the adaptation had not produced its first token within the arm's time budget */
    TIME_BUDGET,
    /** the arm's circuit breaker is open after repeated adaptation failures */
    CIRCUIT_OPEN,
    /** the adaptation failed before its first token */
    ADAPTATION_ERROR;

    /** The name in responses and metrics, e.g. "time_budget". */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
