package dev.moeadapter.serving.policy;

import dev.moeadapter.serving.BadParameterException;

import java.util.List;

/** A named set of arms (ordered by name, so that assignments do not depend on configuration order). */
public record Policy(String name, boolean allowOverride, List<Arm> arms) {
    public Policy {
        arms = List.copyOf(arms);
    }

    public double totalWeight() {
        return arms.stream().mapToDouble(Arm::weight).sum();
    }

    public Arm arm(String armName) {
        return arms.stream().filter(a -> a.name().equals(armName)).findFirst().orElseThrow(() -> new BadParameterException("arm",
                "policy '" + name + "' has no arm '" + armName + "'; arms: " + arms.stream().map(Arm::name).toList()));
    }

    /** The arm at {@code u} in [0, 1) along the arms' cumulative weights. */
    Arm atFraction(double u) {
        double target = u * totalWeight(), cumulative = 0;
        Arm last = null;
        for (Arm a : arms) {
            if (a.weight() <= 0) {
                continue;
            }
            cumulative += a.weight();
            last = a;
            if (target < cumulative) {
                return a;
            }
        }
        return last; // rounding at the very top of the range
    }
}
