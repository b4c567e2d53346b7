package dev.moeadapter.samples.lab;

import dev.moeadapter.samples.eval.Proportion;
import dev.moeadapter.samples.lab.LabSuiteV2.Part;
import dev.moeadapter.samples.lab.LabSuiteV2.Shift;
import dev.moeadapter.samples.lab.LabSuiteV2.Split;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/** The acceptance rules of LAB.md principle 4, as LabCheck applies them. */
class LabCheckVerdictTest {

    private static Proportion p(int right) {
        return Proportion.of(right, 400);
    }

    @Test
    void aShiftNeedsAMiddlingBaseAndTwentyPointsOfHeadroom() {
        Split shift = new Split(Shift.UNTAGGED, Part.DEV);
        var ok = LabCheck.verdict(shift, p(160), p(300), true, p(200), p(360), 2, p(220));
        assertThat(ok.usable()).isTrue();
        assertThat(ok.scmoe()).isTrue();
        assertThat(ok.rerouting()).isTrue();
        assertThat(ok.c3po()).isTrue();
        assertThat(LabCheck.verdict(shift, p(60), p(300), true, p(200), p(360), 2, p(220)).usable()).as("base 15%").isFalse();
        assertThat(LabCheck.verdict(shift, p(160), p(230), true, p(200), p(360), 2, p(220)).why()).contains("routing ceiling");
        var weak = LabCheck.verdict(shift, p(160), p(300), true, p(20), p(200), Float.NaN, p(170));
        assertThat(weak.usable()).isTrue();
        assertThat(weak.scmoe() || weak.rerouting() || weak.c3po()).isFalse();
        assertThat(weak.why()).contains("SCMoE", "rerouting", "C3PO");
    }

    @Test
    void inDistributionTheHeadroomIsCappedAtNinetyNinePercentOfTheItems() {
        Split dev = new Split(Shift.NONE, Part.DEV);
        assertThat(LabCheck.verdict(dev, p(347), p(400), true, p(40), p(100), Float.NaN, p(296)).usable()).isTrue();
        assertThat(LabCheck.verdict(dev, p(347), p(396), true, p(40), p(100), Float.NaN, p(296)).usable()).as("99.0%").isTrue();
        assertThat(LabCheck.verdict(dev, p(347), p(395), true, p(40), p(100), Float.NaN, p(296)).usable()).as("98.75%").isFalse();
        assertThat(LabCheck.verdict(dev, p(370), p(400), true, p(40), p(100), Float.NaN, p(296)).why()).contains("outside [0, 92)");
        assertThat(LabCheck.verdict(dev, p(347), p(347), false, p(40), p(100), Float.NaN, p(296)).why()).contains("oracle not run");
    }

    @Test
    void withoutTheOracleASplitFreezesOnlyWhenItsVerdictCannotDependOnIt(@TempDir Path dir) throws Exception {
        Path model = Files.writeString(dir.resolve("m.gguf"), "a model");
        var none = Proportion.of(0, 0);
        // misleading: base 10% rules it out; untagged: base 40%, fixed deltas 50% (the oracle could still lift it);
        // untagged-test: base 40%, fixed deltas 65% (headroom already reached)
        Function<String, LabCheck.SplitCheck> check = name -> {
            var base = name.startsWith("misleading") ? p(40) : p(160);
            var fixed = name.equals("untagged-test") ? p(260) : name.startsWith("untagged") ? p(200) : base;
            return new LabCheck.SplitCheck(name, base, Map.of(), Float.NaN, fixed, none, p(100), p(100), p(100), p(100),
                    LabCheck.verdict(Split.named(name), base, fixed, false, p(100), p(100), Float.NaN, p(100)));
        };
        var report = new LabCheck.Report("m.gguf", List.of(), Map.of(), List.of(),
                List.of(check.apply("misleading-dev"), check.apply("untagged-dev"), check.apply("untagged-test")));
        Path file = dir.resolve("acceptance.json");
        LabCheck.freeze(file, model, report);
        String frozen = Files.readString(file);
        assertThat(frozen).contains("\"misleading-dev\"").contains("base 10.0% outside").doesNotContain("untagged-dev")
                .contains("\"untagged-test\"").contains("\"usable\" : true");
    }

    @Test
    void theOptionalReferenceRecipesVerdictIsAddedToSplitsFrozenBeforeAndNeverReplaced(@TempDir Path dir) throws Exception {
        Path model = Files.writeString(dir.resolve("m.gguf"), "a model");
        var none = Proportion.of(0, 0);
        // alias-test: base 40%, ceiling 80%: usable; the paper's neighbours reach 45%, fitted ones c3po of 400
        java.util.function.BiFunction<String, Proportion, LabCheck.SplitCheck> check = (name, c3po) ->
                new LabCheck.SplitCheck(name, p(160), Map.of(), Float.NaN, p(320), none, p(100), p(100), c3po, p(100),
                        LabCheck.verdict(Split.named(name), p(160), p(320), false, p(200), p(390), 8f, c3po));
        Path file = dir.resolve("acceptance.json");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LabCheck.freezeOptimisedReferences(file, model,
                new LabCheck.Report("m.gguf", List.of(), Map.of(), List.of(), List.of(check.apply("alias-test", p(210))))))
                .as("nothing frozen yet").isInstanceOf(IllegalStateException.class);
        LabCheck.freeze(file, model, new LabCheck.Report("m.gguf", List.of(), Map.of(), List.of(), List.of(check.apply("alias-test", p(180)))));
        assertThat(Files.readString(file)).contains("\"c3po\" : false").doesNotContain(LabCheck.OPTIMISED_REFS);

        LabCheck.freezeOptimisedReferences(file, model, new LabCheck.Report("m.gguf", List.of(), Map.of(), List.of(),
                List.of(check.apply("alias-test", p(200)), check.apply("alias-dev", p(300)))));
        String frozen = Files.readString(file);
        assertThat(frozen).contains("\"" + LabCheck.OPTIMISED_REFS + "\" : true").contains("\"c3po\" : false")
                .doesNotContain("alias-dev").contains("whyOptimisedRefs");
        LabCheck.freezeOptimisedReferences(file, model, new LabCheck.Report("m.gguf", List.of(), Map.of(), List.of(),
                List.of(check.apply("alias-test", p(100)))));
        assertThat(Files.readString(file)).as("a verdict frozen before stays").isEqualTo(frozen);
    }
}
