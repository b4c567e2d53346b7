package dev.moeadapter.samples.eval;

import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.testmodels.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The harness end to end on a real (random-weight) GGUF through llama.cpp. */
class EvalRunnerTest {
    @Test
    void runsBothPoliciesAndWritesTheReports(@TempDir Path out) throws Exception {
        Model m = TestModels.olmoe();
        // make one item's gold answer the model's own greedy output, so accuracy is known to be > 0
        List<BenchmarkItem> probe = List.of(new BenchmarkItem("p", "echo", "copy: abc =", new BenchmarkItem.ExactMatch("?")));
        String greedy;
        try (Session s = m.newSession(new SessionParams(512, 64, 2, 1, 1))) {
            greedy = new EvalRunner(m, s, EvalCommand.strategy("none", Map.of(), m), 8).run(probe).getFirst().extracted();
        }
        List<BenchmarkItem> items = List.of(
                new BenchmarkItem("1", "echo", "copy: abc =", new BenchmarkItem.ExactMatch(greedy)),
                new BenchmarkItem("2", "echo", "copy: xyz =", new BenchmarkItem.ExactMatch("this will not match")),
                new BenchmarkItem("3", "math", "Question: 1+1?\nAnswer:", new BenchmarkItem.FinalNumber("2")));
        for (String policy : List.of("none", "scmoe")) {
            try (Session s = m.newSession(new SessionParams(512, 64, 2, 1, 1))) {
                EvalRunner runner = new EvalRunner(m, s, EvalCommand.strategy(policy, Map.of(), m), 8);
                List<ItemResult> results = runner.run(items);
                EvalReport report = EvalReport.of("olmoe", "inline", policy, results, runner.expertUsage());
                assertThat(report.accuracy().n()).isEqualTo(3);
                if (policy.equals("none")) {
                    assertThat(results.getFirst().correct()).isTrue();
                    assertThat(report.meanRoutingShift()).isZero();
                } else {
                    // the service's measure: SCMoE's weak view against its strong one (the model's own routing)
                    assertThat(report.meanRoutingShift()).isPositive();
                }
                long selections = 0;
                for (long[] row : runner.expertUsage().total()) {
                    for (long c : row) {
                        selections += c;
                    }
                }
                assertThat(selections).isPositive();
                report.writeJson(out.resolve(policy + ".json"));
                report.writeHtml(out.resolve(policy + ".html"));
                assertThat(Files.readString(out.resolve(policy + ".json"))).contains("\"policy\" : \"" + policy + "\"", "perTask");
                assertThat(Files.readString(out.resolve(policy + ".html"))).contains("<svg", "layer 0", "echo");
                assertThat(report.table()).contains(policy, "per task", "expert concentration");
                assertThat(report.expertUsage().byTask()).containsOnlyKeys("echo", "math");
                for (double c : report.expertUsage().concentration().get("echo")) {
                    assertThat(c).isBetween(report.expertUsage().uniformConcentration() - 1e-9, 1.0);
                }
            }
        }
    }

    @Test
    void reroutingCountsEachAnsweredPositionOnceAndMovesTheRouting() {
        Model m = TestModels.olmoe();
        List<BenchmarkItem> items = List.of(
                new BenchmarkItem("1", "echo", "copy: abc =", new BenchmarkItem.ExactMatch("x")),
                new BenchmarkItem("2", "echo", "copy: xyz =", new BenchmarkItem.ExactMatch("y")));
        // rounds at prefill and every 3 tokens: the answer's KV is rebuilt, so positions are traced again
        var strategy = EvalCommand.strategy("rerouting", Map.of("interval", "3", "steps", "4", "step", "2",
                "layers", "top:1", "param", "full", "q", "2"), m);
        try (Session s = m.newSession(new SessionParams(1024, 64, strategy.sequencesNeeded(), 1, 1))) {
            EvalRunner runner = new EvalRunner(m, s, strategy, 8);
            List<ItemResult> results = runner.run(items);
            // the first MoE layer routes every decoded token (the last one only the rows that output logits)
            long selections = 0;
            for (long c : runner.expertUsage().total()[m.info().moeLayers().getFirst()]) {
                selections += c;
            }
            long positions = 0;
            for (ItemResult r : results) {
                // the prompt and the generated tokens but the last (the one after it too if it ended at EOS)
                positions += r.promptTokens() + Math.max(0, r.generatedTokens() - 1);
            }
            int k = m.info().expertsUsed();
            assertThat(selections % k).isZero();
            assertThat(selections / k).isBetween(positions, positions + items.size());
            EvalReport report = EvalReport.of("olmoe", "inline", "rerouting", results, runner.expertUsage());
            assertThat(report.meanRoutingShift()).as("router deltas change the answering routing").isPositive();
        }
    }

    /**
     * SCMoE's mask reach on the lab model: measured on the base model's failures only (shifted
     * items), absent on items it answers (in distribution), false for a gold answer no plausible
     * token spells, and reported with its share.
     */
    @Test
    void scmoeReportsItsMaskReachOverTheBaseModelsFailures() {
        try (Model m = Model.load(dev.moeadapter.core.engine.ModelParams.of(Path.of("../samples/lab/models/lab-olmoe.gguf")))) {
            List<BenchmarkItem> items = List.of(
                    new BenchmarkItem("in", "rev", "REV:abc=cba,hgde=edgh,bfa=", new BenchmarkItem.ExactMatch("afb")),
                    new BenchmarkItem("shifted", "nxt", "REV:ahadd=babee,hdhcb=aeadc,aag=", new BenchmarkItem.ExactMatch("bbh")),
                    new BenchmarkItem("absurd", "rev", "REV:abc=cba,hgde=edgh,bfa=", new BenchmarkItem.ExactMatch("ÿÿÿÿ")));
            var strategy = EvalCommand.strategy("scmoe", Map.of("weak", "rank:2"), m);
            try (Session s = m.newSession(new SessionParams(1024, 64, strategy.sequencesNeeded(), 1, 1))) {
                List<ItemResult> results = new EvalRunner(m, s, strategy, 12).run(items);
                assertThat(results.get(0).goldInMask()).as("the base model answers it: not a failure").isNull();
                assertThat(results.get(1).goldInMask()).as("a base failure is measured").isNotNull();
                assertThat(results.get(2).goldInMask()).isFalse();
                EvalReport report = EvalReport.of("lab-olmoe", "inline", "scmoe", results, new EvalRunner(m, s, strategy, 12).expertUsage());
                assertThat(report.scmoeMaskReach().n()).isEqualTo(2);
                assertThat(report.table()).contains("SCMoE mask reach: " + report.scmoeMaskReach().successes() + " of 2 base failures");
            }
        }
    }
}
