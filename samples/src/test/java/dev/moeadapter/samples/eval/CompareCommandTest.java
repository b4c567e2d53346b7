package dev.moeadapter.samples.eval;

import dev.moeadapter.core.InvalidRequestException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CompareCommandTest {

    @TempDir
    Path dir;

    private String result(String name, boolean... correct) throws Exception {
        StringBuilder items = new StringBuilder();
        for (int i = 0; i < correct.length; i++) {
            items.append(i == 0 ? "" : ",").append("{\"id\":\"item-").append(i).append("\",\"correct\":").append(correct[i]).append('}');
        }
        Path f = dir.resolve(name + ".json");
        Files.writeString(f, "{\"benchmark\":\"dev.jsonl\",\"items\":[" + items + "]}");
        return f.toString();
    }

    @Test
    void pairsItemsByIdAcrossSeedsAndCorrectsAcrossArms() throws Exception {
        Map<String, List<String>> arms = new LinkedHashMap<>();
        arms.put("helps", List.of(result("h1", true, true, true, true), result("h2", true, true, true, false)));
        arms.put("same", List.of(result("s1", true, false, false, false), result("s2", true, false, false, false)));
        CompareCommand.Comparison c = CompareCommand.compare(
                List.of(result("b1", true, false, false, false), result("b2", true, false, false, false)), arms);
        assertThat(c.arms()).hasSize(2);
        var helps = c.arms().getFirst().pooled();
        assertThat(helps.perSeed().get(0).wrongToRight()).isEqualTo(3);
        assertThat(helps.perSeed().get(1).wrongToRight()).isEqualTo(2);
        assertThat(helps.difference()).isEqualTo(0.625);
        assertThat(c.arms().get(1).pooled().p()).isEqualTo(1);
        assertThat(c.arms().getFirst().holmP()).isGreaterThanOrEqualTo(helps.p());
        assertThat(CompareCommand.markdown(c)).contains("| helps | pooled (2) | +62.5");
        assertThat(CompareCommand.html(c)).contains("<td>helps</td>");
    }

    @Test
    void refusesFilesThatDidNotAnswerTheSameItems() throws Exception {
        assertThatThrownBy(() -> CompareCommand.compare(List.of(result("b", true, false)),
                Map.of("arm", List.of(result("a", true, false, true)))))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("same items");
    }

    @Test
    void twoFilesTakeAnOutputFolderToo() throws Exception {
        Path out = dir.resolve("out");
        CompareCommand.main(new String[] {result("base", true, false), result("arm", true, true), "--out", out.toString()});
        assertThat(Files.readString(out.resolve("compare.md"))).contains("+50.0");
    }
}
