package dev.moeadapter.samples.docs;

import dev.moeadapter.core.adaptation.AdaptationProvider;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** docs/settings.md is what the schemas say ({@code ./moe settings-docs} rewrites it). */
class SettingsDocsTest {
    @Test
    void serviceLoaderFindsEveryMethodModulesProvider() {
        assertThat(AdaptationProvider.all()).extracting(AdaptationProvider::name).containsExactly("c3po", "none", "rerouting", "scmoe", "steer");
    }

    @Test
    void docsSettingsMdIsGeneratedFromTheSchemas() throws IOException {
        Path file = repositoryRoot().resolve("docs/settings.md");
        String expected = SettingsDocs.markdown(AdaptationProvider.all());
        assertThat(Files.exists(file)).as("docs/settings.md is missing; run ./moe settings-docs").isTrue();
        assertThat(Files.readString(file, StandardCharsets.UTF_8)).as("docs/settings.md differs from the schemas; run ./moe settings-docs")
                .isEqualTo(expected);
        assertThat(expected).contains("| `beta` | number | [0, 1000] | `0.5` |", "| `weak` | text | rank:K \\| routed-tok:I \\| top:M | `rank:2` |",
                "| `steps` | integer | 0..100 | `5` |");
    }

    private static Path repositoryRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("moe")) && Files.isDirectory(p.resolve("docs"))) {
                return p;
            }
        }
        throw new IllegalStateException("no repository root above " + Path.of("").toAbsolutePath());
    }
}
