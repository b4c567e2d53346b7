package dev.moeadapter.serving.experiment;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.moeadapter.serving.policy.Arm;
import dev.moeadapter.serving.policy.Policy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A policy's A/B results: per arm and adaptation that answered, the answers, the correct rate and
 * the mean score with 95% intervals; and each arm against the control by the always-valid
 * {@link MixtureSprt}, on the answers its own adaptation gave (an arm's fallback answers came from
 * plain generation and are counted apart, under {@code none}).
 *
 * @param control the arm the others are compared with: the policy's first arm, by name, that answers
 *                plainly (adaptation {@code none}); null when it has none, and then nothing is compared
 */
public record ExperimentReport(String policy, String control, Method method, List<ArmReport> arms, List<Comparison> comparisons) {
    public static final String CORRECT_RATE = "correct_rate", MEAN_SCORE = "mean_score";

    /**
     * @param alpha              the error rate of the whole report: the chance that any comparison declares a difference where there is none
     * @param alphaPerComparison alpha split evenly over the comparisons (Bonferroni: two metrics per arm besides the control)
     */
    public record Method(String test, double alpha, @JsonProperty("alpha_per_comparison") double alphaPerComparison,
                         @JsonProperty("mixture_sd") double mixtureSd, @JsonProperty("min_per_arm") long minPerArm,
                         String intervals) {
    }

    /** @param adaptation the arm's configured adaptation; null for an arm no longer configured */
    public record ArmReport(String arm, String adaptation, long answers, List<Group> groups) {
    }

    /** The answers of an arm that one adaptation produced; {@code fallback}: plain generation standing in for the arm's. */
    public record Group(@JsonProperty("answered_by") String answeredBy, boolean fallback, long answers, Rate correct, Mean score) {
    }

    /** Verdicts: how many, how many correct, the rate and its 95% Wilson interval. */
    public record Rate(long n, long correct, Double rate, Interval ci95) {
        static Rate of(Sample s) {
            return new Rate(s.n(), Math.round(s.sum()), s.n() == 0 ? null : s.mean(), s.wilson95());
        }
    }

    /** Scores: how many, their mean and its 95% interval (normal approximation). */
    public record Mean(long n, Double mean, Interval ci95) {
        static Mean of(Sample s) {
            return new Mean(s.n(), s.n() == 0 ? null : s.mean(), s.normal95());
        }
    }

    /**
     * One arm against the control on one metric.
     *
     * @param difference the arm's value minus the control's
     * @param sequence   the always-valid confidence sequence for the difference (at alpha per comparison)
     * @param decision   not_enough_data, continue, arm_higher or arm_lower
     */
    public record Comparison(String arm, String metric, @JsonProperty("control_n") long controlN, @JsonProperty("arm_n") long armN,
                             Double difference, Interval sequence, @JsonProperty("likelihood_ratio") Double likelihoodRatio,
                             @JsonProperty("p_value") Double pValue, String decision) {
    }

    public static ExperimentReport of(Policy policy, List<ArmOutcomes> outcomes, MixtureSprt test, double alpha) {
        Map<String, List<ArmOutcomes>> byArm = new LinkedHashMap<>();
        policy.arms().stream().sorted(Comparator.comparing(Arm::name)).forEach(a -> byArm.put(a.name(), new ArrayList<>()));
        outcomes.stream().sorted(Comparator.comparing(ArmOutcomes::arm).thenComparing(ArmOutcomes::answeredBy))
                .forEach(o -> byArm.computeIfAbsent(o.arm(), k -> new ArrayList<>()).add(o));
        List<ArmReport> arms = new ArrayList<>();
        byArm.forEach((name, groups) -> {
            String adaptation = policy.arms().stream().filter(a -> a.name().equals(name)).findFirst().map(Arm::adaptation).orElse(null);
            arms.add(new ArmReport(name, adaptation, groups.stream().mapToLong(ArmOutcomes::answers).sum(), groups.stream()
                    .map(g -> new Group(g.answeredBy(), !g.answeredBy().equals(adaptation), g.answers(), Rate.of(g.verdicts()),
                            Mean.of(g.scores()))).toList()));
        });
        Arm control = policy.arms().stream().filter(Arm::isPlain).min(Comparator.comparing(Arm::name)).orElse(null);
        List<Arm> treated = control == null ? List.of()
                : policy.arms().stream().filter(a -> a != control).sorted(Comparator.comparing(Arm::name)).toList();
        double perComparison = treated.isEmpty() ? alpha : alpha / (2.0 * treated.size());
        List<Comparison> comparisons = new ArrayList<>();
        for (Arm arm : treated) {
            ArmOutcomes c = own(byArm.get(control.name()), control), t = own(byArm.get(arm.name()), arm);
            comparisons.add(compare(arm.name(), CORRECT_RATE, c.verdicts(), t.verdicts(), test, perComparison));
            comparisons.add(compare(arm.name(), MEAN_SCORE, c.scores(), t.scores(), test, perComparison));
        }
        return new ExperimentReport(policy.name(), control == null ? null : control.name(),
                new Method("mixture SPRT (Johari et al. 2022), normal mixture on the difference of means", alpha, perComparison,
                        test.mixtureSd(), test.minPerArm(), "rates: Wilson 95%; scores: mean ± 1.96 se; fixed-sample, not sequential"),
                arms, comparisons);
    }

    /** The totals of the answers the arm's own adaptation gave. */
    private static ArmOutcomes own(List<ArmOutcomes> groups, Arm arm) {
        return groups.stream().filter(g -> g.answeredBy().equals(arm.adaptation())).findFirst()
                .orElse(new ArmOutcomes(arm.name(), arm.adaptation(), 0, Sample.EMPTY, Sample.EMPTY));
    }

    private static Comparison compare(String arm, String metric, Sample control, Sample treated, MixtureSprt test, double alpha) {
        MixtureSprt.Result r = test.compare(control, treated, alpha);
        return new Comparison(arm, metric, control.n(), treated.n(), r.difference(), r.sequence(), r.likelihoodRatio(), r.pValue(),
                r.decision().name().toLowerCase(Locale.ROOT));
    }
}
