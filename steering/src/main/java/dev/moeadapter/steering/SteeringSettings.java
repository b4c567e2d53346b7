package dev.moeadapter.steering;

import dev.moeadapter.core.InvalidRequestException;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What a {@code steer} arm does: the steered experts (from a steering file and from settings) and
 * the sizes of its edits.
 *
 * @param entries the steered experts; an entry of strength 0 steers nothing
 * @param epsilon SteerMoE's ε: a promoted expert's router score becomes the token's best + ε, a
 *                suppressed one's the worst − ε (times the entry's strength)
 * @param boost   RICE's fixed boost: the logit added to a boosted expert (times the entry's strength)
 * @param topP    dynamic expert count: of the selected experts, the fewest whose share of the
 *                selected weight reaches p answer (1 = all of them, no edit)
 */
public record SteeringSettings(List<SteeringFile.Entry> entries, float epsilon, float boost, float topP) {
    public static final float MAX_EPSILON = 10f, MAX_BOOST = 20f;
    /** More entries than any model has layer × expert pairs is a mistake, not a plan. */
    public static final int MAX_ENTRIES = 1 << 16;
    /** SteerMoE's rule with a small ε; RICE-style boosts of e¹ in weight; no dynamic count. */
    public static final SteeringSettings DEFAULTS = new SteeringSettings(List.of(), 0.01f, 1f, 1f);

    public SteeringSettings {
        entries = List.copyOf(Objects.requireNonNull(entries, "entries"));
        if (entries.size() > MAX_ENTRIES) {
            throw new InvalidRequestException("steer: at most " + MAX_ENTRIES + " steered experts, got " + entries.size());
        }
        Set<Long> seen = new HashSet<>();
        for (SteeringFile.Entry e : entries) {
            if (e.strength() > 0 && !seen.add(((long) e.layer() << 32) | e.expert())) {
                throw new InvalidRequestException("steer: layer " + e.layer() + " expert " + e.expert() + " is steered twice");
            }
        }
        if (!(epsilon > 0 && epsilon <= MAX_EPSILON)) {
            throw new InvalidRequestException("steer setting 'epsilon' must lie in (0, " + MAX_EPSILON + "], got " + epsilon);
        }
        if (!(boost >= 0 && boost <= MAX_BOOST)) {
            throw new InvalidRequestException("steer setting 'boost-by' must lie in [0, " + MAX_BOOST + "], got " + boost);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new InvalidRequestException("steer setting 'top-p' must lie in (0, 1], got " + topP);
        }
    }

    /** Whether these settings edit nothing: the arm then decodes exactly as plain generation. */
    public boolean isIdentity() {
        return topP == 1f && entries.stream().allMatch(e -> e.strength() == 0);
    }
}
