package dev.moeadapter.core.adaptation;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.SettingSpec.Range;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SettingsSchemaTest {
    private record Defaults(int steps, float alpha, double h, boolean eos, String mode, String view) {
    }

    private static final Defaults DEFAULTS = new Defaults(5, 0.1f, 0.5, false, "b", "top:2");

    private static final SettingsSchema SCHEMA = SettingsSchema.of("demo",
            SettingSpec.integer("steps", Range.closed(0, 100), DEFAULTS.steps(), "Steps per round."),
            SettingSpec.number("alpha", Range.above(0, 1), DEFAULTS.alpha(), "A fraction."),
            SettingSpec.number("h", Range.greaterThan(0), DEFAULTS.h(), "A bandwidth."),
            SettingSpec.bool("eos", DEFAULTS.eos(), "A switch."),
            SettingSpec.choice("mode", List.of("a", "b"), DEFAULTS.mode(), "A choice."),
            SettingSpec.text("view", "top:\\d+|soft", "top:M | soft", DEFAULTS.view(), "A form."));

    private static SettingsSchema.Values parse(Map<String, ?> m) {
        return SCHEMA.parse(StrategySettings.of(m));
    }

    @Test
    void readsStringsFromPropertiesAndJsonValuesFromClientsAlike() {
        SettingsSchema.Values fromProperties = parse(Map.of("steps", " 7", "alpha", "0.25", "h", "2", "eos", "true", "mode", "a", "view", "soft"));
        SettingsSchema.Values fromJson = parse(Map.of("steps", 7, "alpha", 0.25, "h", 2, "eos", true, "mode", "a", "view", "soft"));
        for (SettingsSchema.Values v : List.of(fromProperties, fromJson)) {
            assertThat(v.integer("steps", -1)).isEqualTo(7);
            assertThat(v.number("alpha", -1)).isEqualTo(0.25);
            assertThat(v.number("h", -1)).isEqualTo(2.0);
            assertThat(v.bool("eos", false)).isTrue();
            assertThat(v.text("mode", null)).isEqualTo("a");
            assertThat(v.text("view", null)).isEqualTo("soft");
        }
        assertThat(parse(Map.of("steps", 7L, "alpha", 1.0f)).integer("steps", -1)).isEqualTo(7);
        assertThat(parse(Map.of("steps", new BigInteger("7"))).integer("steps", -1)).isEqualTo(7);
        assertThat(parse(Map.of("steps", 7.0)).integer("steps", -1)).as("a JSON 7.0 is the integer 7").isEqualTo(7);
    }

    @Test
    void settingsNotGivenAreAbsentAndTakeTheCallersFallback() {
        SettingsSchema.Values v = SCHEMA.parse(StrategySettings.NONE);
        assertThat(v.isEmpty()).isTrue();
        assertThat(v.has("steps")).isFalse();
        assertThat(v.integer("steps", 42)).isEqualTo(42);
        assertThat(v.text("view", "x")).isEqualTo("x");
    }

    @Test
    void unknownNamesAreRefusedNamingTheKnownOnes() {
        assertThatThrownBy(() -> parse(Map.of("stpes", 3))).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("unknown demo setting 'stpes'").hasMessageContaining("[steps, alpha, h, eos, mode, view]");
        assertThatThrownBy(() -> SettingsSchema.none("none").parse(StrategySettings.of(Map.of("beta", 1))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("adaptation 'none' takes no settings");
    }

    @Test
    void wrongTypesAreRefusedNamingTheSetting() {
        record Case(Map<String, ?> settings, String message) {
        }
        for (Case c : List.of(
                new Case(Map.of("steps", "three"), "demo setting 'steps' must be an integer in 0..100, got 'three'"),
                new Case(Map.of("steps", 2.5), "'steps' must be an integer"),
                new Case(Map.of("steps", "2.0"), "'steps' must be an integer"),
                new Case(Map.of("steps", 1e300), "'steps' must be an integer"),
                new Case(Map.of("steps", true), "'steps' must be an integer"),
                new Case(Map.of("alpha", "x"), "'alpha' must be a finite number in (0, 1]"),
                new Case(Map.of("alpha", "NaN"), "'alpha' must be a finite number"),
                new Case(Map.of("alpha", "0.5d"), "'alpha' must be a finite number"), // Java's literal suffix, not a number
                new Case(Map.of("h", "0x1p3"), "'h' must be a finite number"),
                new Case(Map.of("h", "1".repeat(20_000) + "x"), "'h' must be a finite number"),
                new Case(Map.of("h", Double.POSITIVE_INFINITY), "'h' must be a finite number > 0"),
                new Case(Map.of("alpha", 1e-300), "'alpha' must lie within a float's range (a magnitude from 1.4e-45 to 3.4e38) and be in (0, 1], got '1.0E-300'"),
                new Case(Map.of("h", 1e300), "'h' must lie within a float's range"),
                new Case(Map.of("eos", "yes"), "'eos' must be true or false"),
                new Case(Map.of("eos", 1), "'eos' must be true or false"),
                new Case(Map.of("mode", "c"), "'mode' must be a or b, got 'c'"),
                new Case(Map.of("mode", 1), "'mode' must be a or b"),
                new Case(Map.of("view", "top-2"), "'view' must be top:M or soft (e.g. top:2), got 'top-2'"),
                new Case(Map.of("view", List.of("soft")), "'view' must be a single value"),
                new Case(Map.of("view", "\u0000"), "'view' must be top:M or soft"), // a control character is not blank
                new Case(Map.of("view", "soft\u0000"), "'view' must be top:M or soft"))) {
            assertThatThrownBy(() -> parse(c.settings())).as(c.settings().toString()).isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining(c.message());
        }
    }

    @Test
    void rangesBoundTheValueAsGivenWithInclusiveAndExclusiveEnds() {
        assertThat(parse(Map.of("steps", 0)).integer("steps", -1)).isZero();
        assertThat(parse(Map.of("steps", "100")).integer("steps", -1)).isEqualTo(100);
        assertThatThrownBy(() -> parse(Map.of("steps", -1))).hasMessageContaining("demo setting 'steps' must be in 0..100, got '-1'");
        assertThatThrownBy(() -> parse(Map.of("steps", 101))).hasMessageContaining("'steps' must be in 0..100");
        // beyond an int, and beyond a long: refused before anything is computed from it
        assertThatThrownBy(() -> parse(Map.of("steps", 2147483648L))).hasMessageContaining("'steps' must be in 0..100");
        assertThatThrownBy(() -> parse(Map.of("steps", "99999999999999999999"))).hasMessageContaining("'steps' must be an integer");
        assertThat(parse(Map.of("alpha", "1")).number("alpha", -1)).isEqualTo(1.0);
        assertThatThrownBy(() -> parse(Map.of("alpha", 0))).hasMessageContaining("'alpha' must be in (0, 1]");
        assertThatThrownBy(() -> parse(Map.of("alpha", 1.0000001))).hasMessageContaining("'alpha' must be in (0, 1]");
        assertThat(parse(Map.of("alpha", (double) Float.MIN_VALUE)).number("alpha", -1)).isEqualTo(Float.MIN_VALUE); // the least a float holds above 0
        assertThatThrownBy(() -> parse(Map.of("h", 0))).hasMessageContaining("'h' must be > 0");
    }

    @Test
    void defaultsAreTheDefaultsRecordsValuesAsItHoldsThem() {
        assertThat(SCHEMA.spec("alpha").defaultValue()).isEqualTo(DEFAULTS.alpha()).isInstanceOf(Float.class);
        assertThat(SCHEMA.spec("alpha").defaultText()).isEqualTo("0.1");
        assertThat(SCHEMA.spec("steps").defaultValue()).isEqualTo(5);
        assertThat(SCHEMA.defaults().values()).containsEntry("steps", "5").containsEntry("view", "top:2").containsEntry("eos", "false");
        SettingsSchema.Values back = SCHEMA.parse(SCHEMA.defaults());
        assertThat(back.integer("steps", -1)).isEqualTo(DEFAULTS.steps());
        assertThat((float) back.number("alpha", -1)).isEqualTo(DEFAULTS.alpha());
        assertThat(back.text("mode", null)).isEqualTo(DEFAULTS.mode());
    }

    @Test
    void describesEachSettingAsData() {
        Map<String, Object> alpha = SCHEMA.spec("alpha").describe();
        assertThat(alpha).containsEntry("name", "alpha").containsEntry("type", "number").containsEntry("accepted", "(0, 1]")
                .containsEntry("default", 0.1f).containsEntry("meaning", "A fraction.");
        assertThat(alpha.get("range")).isEqualTo(Map.of("min", 0.0, "min_inclusive", false, "max", 1.0, "max_inclusive", true));
        assertThat(SCHEMA.spec("steps").describe().get("range")).isEqualTo(Map.of("min", 0L, "min_inclusive", true, "max", 100L, "max_inclusive", true));
        assertThat(SCHEMA.spec("mode").describe()).containsEntry("choices", List.of("a", "b")).doesNotContainKey("range");
        assertThat(SCHEMA.spec("h").accepted()).isEqualTo("> 0");
    }

    @Test
    void aSchemaIsWellFormed() {
        assertThatThrownBy(() -> SettingsSchema.of("x", SettingSpec.bool("a", true, "."), SettingSpec.bool("a", false, ".")))
                .hasMessageContaining("two settings share a name");
        assertThatThrownBy(() -> new SettingSpec("a", SettingSpec.Type.BOOLEAN, Range.closed(0, 1), null, null, null, true, "."))
                .hasMessageContaining("only numbers have a range");
        assertThatThrownBy(() -> SCHEMA.parse(StrategySettings.of(Map.of("steps", 1))).number("steps", 0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void serviceLoaderFindsPlainGeneration() {
        AdaptationProvider none = AdaptationProvider.named("none").orElseThrow();
        assertThat(none.schema().specs()).isEmpty();
        assertThat(none.requirements(StrategySettings.NONE).sequences()).isEqualTo(1);
        assertThat(none.create(ProviderContext.of(dev.moeadapter.core.testmodels.TestModels.olmoe().info(), ResultCache.NONE),
                StrategySettings.NONE)).isInstanceOf(PlainGeneration.class);
        assertThatThrownBy(() -> none.requirements(StrategySettings.of(Map.of("beta", 1)))).hasMessageContaining("takes no settings");
    }
}
