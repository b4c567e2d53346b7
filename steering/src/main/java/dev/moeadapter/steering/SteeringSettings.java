package dev.moeadapter.steering;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.SettingSpec;
import dev.moeadapter.core.adaptation.SettingSpec.Range;
import dev.moeadapter.core.adaptation.SettingsSchema;

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
 * @param topP    dynamic expert count: of the selected experts, the fewest whose probability mass
 *                reaches p answer (1 = all of them, no edit; {@code RouterEdit.TopP})
 */
public record SteeringSettings(List<SteeringFile.Entry> entries, float epsilon, float boost, float topP) {
    public static final float MAX_EPSILON = 10f, MAX_BOOST = 20f;
    /** More entries than any model has layer × expert pairs is a mistake, not a plan. */
    public static final int MAX_ENTRIES = 1 << 16;
    /** SteerMoE's rule with a small ε; RICE-style boosts of e¹ in weight; no dynamic count. */
    private static final float DEFAULTS_EPSILON = 0.01f, DEFAULTS_BOOST = 1f, DEFAULTS_TOP_P = 1f;
    public static final SteeringSettings DEFAULTS = new SteeringSettings(List.of(), DEFAULTS_EPSILON, DEFAULTS_BOOST, DEFAULTS_TOP_P);

    /** A list of steered experts: {@code layer:expert} pairs separated by commas or spaces. */
    static final String EXPERT_LIST = "\\s*+(?:\\d{1,6}:\\d{1,6}(?:(?:\\s*+,\\s*+|\\s++)\\d{1,6}:\\d{1,6})*+)?+\\s*+"; // possessive: no backtracking on long input
    /** A steering file is named, not given as a path: it must lie in the steering directory. */
    static final String FILE_NAME = "[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}";

    public static final SettingsSchema SCHEMA = SettingsSchema.of("steer",
            SettingSpec.text("file", FILE_NAME + "|", "NAME of a file in moe.adapter.steering-directory", "",
                    "A steering file (layer, expert, action, strength), e.g. the profiler's steering.tsv; its entries replace the arm's file."),
            SettingSpec.text("promote", EXPERT_LIST, "layer:expert, ...", "",
                    "Experts promoted by SteerMoE's rule: each token's router score for them becomes its best + epsilon."),
            SettingSpec.text("suppress", EXPERT_LIST, "layer:expert, ...", "",
                    "Experts suppressed by SteerMoE's rule: each token's router score for them becomes its worst - epsilon."),
            SettingSpec.text("boost", EXPERT_LIST, "layer:expert, ...", "",
                    "Experts whose router logit gets boost-by added (RICE's fixed boost)."),
            SettingSpec.text("mask", EXPERT_LIST, "layer:expert, ...", "",
                    "Experts switched off (MoTE): never selected, or weight 0 where fewer remain than the model selects."),
            SettingSpec.number("epsilon", Range.above(0, MAX_EPSILON), DEFAULTS_EPSILON,
                    "SteerMoE's epsilon: how far above the best (below the worst) score a promoted (suppressed) expert lands."),
            SettingSpec.number("boost-by", Range.closed(0, MAX_BOOST), DEFAULTS_BOOST,
                    "The logit a boosted expert gets added (times its strength in a file)."),
            SettingSpec.number("top-p", Range.above(0, 1), DEFAULTS_TOP_P,
                    "Dynamic expert count: of the selected experts, the fewest whose probability mass reaches p answer (1 = all)."));

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
