package dev.moeadapter.samples.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BenchmarkFileTest {
    @TempDir
    Path dir;

    private Path file(String... lines) throws IOException {
        return Files.write(dir.resolve("bench.jsonl"), List.of(lines));
    }

    @Test
    void readsTheLabAndPublicFormats() throws IOException {
        List<BenchmarkItem> items = BenchmarkFile.read(file(
                "{\"id\":\"r1\",\"task\":\"reverse\",\"prompt\":\"reverse: abc =\",\"answer\":\" cba \"}",
                "",
                "{\"question\":\"Tom has 3 apples and buys 1,200 more.\",\"answer\":\"3+1200=1203\\n#### 1,203\"}",
                "{\"question\":\"Sky colour?\",\"choices\":{\"text\":[\"red\",\"blue\"],\"label\":[\"A\",\"B\"]},\"answerKey\":\"B\"}",
                "{\"question\":\"2+2?\",\"choices\":[\"3\",\"4\",\"5\"],\"answer\":1,\"subject\":\"math\"}",
                "{\"question\":\"Pick C\",\"choices\":[\"x\",\"y\",\"z\"],\"answer\":\"c\"}"));
        assertThat(items).hasSize(5);
        assertThat(items.get(0).scoring()).isEqualTo(new BenchmarkItem.ExactMatch("cba"));
        assertThat(items.get(0).task()).isEqualTo("reverse");
        assertThat(items.get(1).scoring()).isEqualTo(new BenchmarkItem.FinalNumber("1,203"));
        assertThat(items.get(1).prompt()).startsWith("Question: Tom").endsWith("Answer:");
        assertThat(items.get(2).scoring().gold()).isEqualTo("B");
        assertThat(items.get(2).prompt()).isEqualTo("Sky colour?\nA. red\nB. blue\nAnswer:");
        assertThat(items.get(3).scoring().gold()).isEqualTo("B");
        assertThat(items.get(3).task()).isEqualTo("math");
        assertThat(items.get(4).scoring().gold()).isEqualTo("C");
        assertThat(items.get(1).id()).isEqualTo("line-3");
    }

    @Test
    void badLinesNameTheLineAndTheProblem() throws IOException {
        String ok = "{\"prompt\":\"p\",\"answer\":\"a\"}";
        assertThatThrownBy(() -> BenchmarkFile.read(file(ok, "{not json"))).isInstanceOf(BenchmarkFormatException.class)
                .hasMessageContaining("bench.jsonl:2").hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> BenchmarkFile.read(file(ok, "[1,2]"))).hasMessageContaining(":2: each line must be a JSON object");
        assertThatThrownBy(() -> BenchmarkFile.read(file("{\"prompt\":\"p\"}"))).hasMessageContaining(":1: missing 'answer'");
        assertThatThrownBy(() -> BenchmarkFile.read(file("{\"text\":\"p\"}"))).hasMessageContaining(":1: unrecognised item");
        assertThatThrownBy(() -> BenchmarkFile.read(file("{\"question\":\"q\",\"answer\":\"no number\"}")))
                .hasMessageContaining("no final number");
        assertThatThrownBy(() -> BenchmarkFile.read(file("{\"question\":\"q\",\"choices\":[\"a\"],\"answer\":\"D\"}")))
                .hasMessageContaining("outside the 1 choices");
        assertThatThrownBy(() -> BenchmarkFile.read(file("{\"question\":\"q\",\"choices\":[],\"answer\":0}")))
                .hasMessageContaining("non-empty list");
        assertThatThrownBy(() -> BenchmarkFile.read(file("{\"question\":\"q\",\"choices\":[\"a\"]}")))
                .hasMessageContaining("missing 'answer'");
        assertThatThrownBy(() -> BenchmarkFile.read(file("{\"prompt\":{\"x\":1},\"answer\":\"a\"}")))
                .hasMessageContaining("'prompt' must be a string");
        assertThatThrownBy(() -> BenchmarkFile.read(file("{\"id\":\"x\",\"prompt\":\"p\",\"answer\":\"a\"}", "{\"id\":\"x\",\"prompt\":\"q\",\"answer\":\"b\"}")))
                .hasMessageContaining(":2: duplicate id 'x'");
        assertThatThrownBy(() -> BenchmarkFile.read(file("", ""))).hasMessageContaining("no benchmark items");
    }
}
