package dev.moeadapter.samples.lab;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class LabResultsTest {

    @Test
    void thePageHoldsEveryArchitecturesLatestSectionInNameOrder(@TempDir Path dir) throws Exception {
        Path sections = Files.createDirectories(dir.resolve("sections"));
        Files.writeString(sections.resolve("olmoe.md"), "\n## olmoe\n");
        Files.writeString(sections.resolve("mixtral.md"), "\n## mixtral\n");
        Path doc = dir.resolve("lab-results.md");
        LabResults.writeDoc(doc, sections);
        String page = Files.readString(doc);
        assertThat(page).startsWith("# Results on the lab models");
        assertThat(page.indexOf("## mixtral")).isPositive().isLessThan(page.indexOf("## olmoe"));
    }

    @Test
    void aMethodsCannotTestRowGivesTheSplitsReasonsAndItsOwnNotTheOtherMethods() {
        String why = "routing ceiling 80.0% < min(base + 20 points, 99%); rerouting: prompt NLL picks the true task on fewer than 80% of items;"
                + " C3PO: neighbours' pathways reach less than base + 10 points";
        assertThat(LabResults.reasonFor("c3po", why)).isEqualTo("routing ceiling 80.0% < min(base + 20 points, 99%); C3PO: neighbours' pathways reach less than base + 10 points");
        assertThat(LabResults.reasonFor("rerouting", why)).doesNotContain("C3PO").contains("rerouting: prompt NLL");
    }
}
