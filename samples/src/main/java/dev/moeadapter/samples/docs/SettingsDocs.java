package dev.moeadapter.samples.docs;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationProvider;
import dev.moeadapter.core.adaptation.SettingSpec;
import dev.moeadapter.samples.cli.Cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code ./moe settings-docs [FILE]}: writes docs/settings.md (or FILE), one table per adaptation
 * found with {@link java.util.ServiceLoader}, from its settings schema. {@code SettingsDocsTest} fails
 * when the file differs from what this writes.
 */
public final class SettingsDocs {
    private SettingsDocs() {}

    public static void main(String[] args) throws Exception {
        Cli.run("settings-docs", null, () -> {
            if (args.length > 1 || args.length == 1 && args[0].startsWith("-")) {
                throw new InvalidRequestException("one argument: the file to write (docs/settings.md without it); got "
                        + String.join(" ", args));
            }
            Path out = Path.of(args.length > 0 ? args[0] : "docs/settings.md");
            Files.writeString(out, markdown(AdaptationProvider.all()), StandardCharsets.UTF_8);
            System.out.println("wrote " + out);
        });
    }

    /** The page for {@code providers}, in their order. */
    public static String markdown(List<AdaptationProvider> providers) {
        StringBuilder b = new StringBuilder();
        b.append("""
                # Settings of the adaptations

                <!-- generated from the methods' settings schemas by `./moe settings-docs`; do not edit by hand -->

                Every adaptation reads its settings through one schema, whichever way they come: an arm's
                `settings` in `moe.adapter.policies.*`, a request's `"settings"` (JSON numbers, strings or
                booleans), a flag of `./moe eval` or of the benchmarks (`--NAME VALUE`), and for C3PO the
                starter's `moe.adapter.c3po.NAME` properties. A name the method does not know, a value of the
                wrong type, or one outside its range is refused, naming the setting. Settings not given keep
                the method's defaults, which are the values of its defaults record (e.g. `ScmoeSettings.DEFAULTS`).
                `GET /v1/moe/info` lists the same schemas (`adaptation_settings`) for the adaptations a service has.
                """);
        for (AdaptationProvider p : providers) {
            b.append("\n## `").append(p.name()).append("`\n\n");
            List<SettingSpec> specs = p.schema().specs();
            if (specs.isEmpty()) {
                b.append("Takes no settings.\n");
                continue;
            }
            b.append("| setting | type | accepted | default | meaning |\n|---|---|---|---|---|\n");
            for (SettingSpec s : specs) {
                b.append("| `").append(s.name()).append("` | ").append(s.type().label()).append(" | ").append(cell(s.accepted()))
                        .append(" | `").append(s.defaultText()).append("` | ").append(cell(s.meaning())).append(" |\n");
            }
        }
        return b.toString();
    }

    private static String cell(String text) {
        return text.replace("|", "\\|");
    }
}
