package dev.moeadapter.samples.eval;

/** The outcome of one benchmark item. {@code routingShift} is NaN when it was not measured. */
public record ItemResult(String id, String task, boolean correct, String gold, String extracted, String output,
                         int promptTokens, int generatedTokens, double seconds, double routingShift) {
}
