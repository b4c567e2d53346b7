package dev.moeadapter.samples.eval;

import dev.moeadapter.c3po.C3poStrategy;
import dev.moeadapter.c3po.ReferenceSet;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.json.JsonMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** c3po-build on a labelled JSONL, then the harness with each C3PO policy, on a real (random-weight) GGUF. */
class C3poEvalTest {
    @Test
    void buildsAReferenceSetFromAJsonlAndEvaluatesEveryC3poPolicy(@TempDir Path dir) throws Exception {
        Model m = TestModels.olmoe();
        List<String> prompts = List.of("Q: 2 plus 3 is? A:", "Q: 4 plus 1 is? A:", "Q: 6 plus 2 is? A:", "Q: 7 plus 5 is? A:",
                "Q: 1 plus 8 is? A:", "Q: 9 plus 9 is? A:");
        List<BenchmarkItem> asked = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            asked.add(new BenchmarkItem("q" + i, "sums", prompts.get(i), new BenchmarkItem.ExactMatch("?")));
        }
        List<ItemResult> greedy;
        try (Session s = m.newSession(new SessionParams(512, 64, 2, 1, 1))) {
            greedy = new EvalRunner(m, s, EvalCommand.strategy("none", Map.of(), m), 8).run(asked);
        }
        // label five items with the model's own answers (kept) and one wrongly (dropped)
        JsonMapper json = JsonMapper.builder().build();
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < prompts.size(); i++) {
            String answer = i == 5 ? "not what it says" : greedy.get(i).extracted();
            jsonl.append(json.writeValueAsString(Map.of("id", "q" + i, "task", "sums", "prompt", prompts.get(i), "answer", answer))).append('\n');
        }
        Path bench = dir.resolve("train.jsonl");
        Files.writeString(bench, jsonl);
        Path refs = dir.resolve("train.c3po");
        C3poBuildCommand.main(new String[]{"--model", m.path().toString(), "--bench", bench.toString(), "--out", refs.toString(),
                "--max-tokens", "8", "--threads", "1", "--ctx", "512", "--progress-every", "2"});
        try (ReferenceSet set = ReferenceSet.load(refs, m)) {
            assertThat(set.size()).isEqualTo(5);
            assertThat(set.id(4)).isEqualTo("q4");
        }

        List<BenchmarkItem> test = List.of(new BenchmarkItem("t0", "sums", "Q: 3 plus 4 is? A:", new BenchmarkItem.ExactMatch("7")),
                new BenchmarkItem("t1", "sums", "Q: 5 plus 2 is? A:", new BenchmarkItem.ExactMatch("7")));
        assertThatThrownBy(() -> EvalCommand.strategy("c3po-kr", Map.of("reference", refs.toString(), "steps", "3"), m))
                .hasMessageContaining("'steps' applies to algorithm ngd only");
        for (String policy : List.of("c3po-kr", "c3po-mode", "c3po-ngd")) {
            // steps are NGD's; given to another algorithm they are refused, not ignored
            Map<String, String> flags = policy.equals("c3po-ngd") ? Map.of("reference", refs.toString(), "steps", "3")
                    : Map.of("reference", refs.toString());
            C3poStrategy c3po = (C3poStrategy) EvalCommand.strategy(policy, flags, m);
            try (Session s = m.newSession(new SessionParams(1024, 64, c3po.sequencesNeeded(), 1, 1))) {
                EvalRunner runner = new EvalRunner(m, s, c3po, 8);
                List<ItemResult> results = runner.run(test);
                assertThat(results).hasSize(2).allSatisfy(r -> assertThat(r.generatedTokens()).isPositive());
                EvalReport report = EvalReport.of("olmoe", "inline", policy, results, runner.expertUsage());
                assertThat(report.meanRoutingShift()).as("%s re-mixes the answering routing", policy).isPositive();
            } finally {
                c3po.referenceSet().close();
            }
        }
    }
}
