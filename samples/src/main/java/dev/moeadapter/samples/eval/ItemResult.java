package dev.moeadapter.samples.eval;

/**
 * The outcome of one benchmark item. {@code routingShift} is NaN when it was not measured.
 * {@code goldInMask} is measured for SCMoE on the items the base model (plain greedy) gets wrong:
 * whether every gold token lies inside SCMoE's α-mask under teacher forcing ({@link MaskReach});
 * null elsewhere.
 */
public record ItemResult(String id, String task, boolean correct, String gold, String extracted, String output,
                         int promptTokens, int generatedTokens, double seconds, double routingShift, Boolean goldInMask) {
}
