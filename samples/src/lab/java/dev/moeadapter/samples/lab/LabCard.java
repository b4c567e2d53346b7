package dev.moeadapter.samples.lab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The model card of a lab v2 model, written by the trainer next to the GGUF: what the model is,
 * the data and recipe that made it (with the command that reproduces it), its losses and its
 * teacher-forced accuracy during training. The acceptance checks measured through llama.cpp
 * (accuracy per split, router margins, expert specialisation, what each split can test) are
 * appended by {@code ./moe lab results}, which reruns them from the file.
 */
final class LabCard {

    private LabCard() {}

    static void write(LabTrainer.Settings s, Path log, Path card, Optional<LabTrainer.StopMarker> stop) throws IOException {
        TwinShape sh = s.shape();
        List<String> rows = Files.readAllLines(log);
        StringBuilder losses = new StringBuilder("| step | loss | load balance | grouping | dev | untagged-dev | misleading-dev | long-dev |\n|---|---|---|---|---|---|---|---|\n");
        // the log has a loss row every 50 steps and an accuracy row at each evaluation: one table row per 100 steps
        java.util.Map<String, String[]> byStep = new java.util.LinkedHashMap<>();
        for (String r : rows.subList(1, rows.size())) {
            String[] c = r.split("\t", -1);
            String[] row = byStep.computeIfAbsent(c[0], k -> new String[8]);
            for (int i = 1; i < c.length && i < 8; i++) if (!c[i].isEmpty()) row[i] = c[i];
            row[0] = c[0];
        }
        String last = byStep.isEmpty() ? "" : List.copyOf(byStep.keySet()).getLast();
        byStep.forEach((step, row) -> {
            if (!step.endsWith("00") && !step.equals(last)) return;
            losses.append('|');
            for (String x : row) losses.append(' ').append(x == null ? "" : x).append(" |");
            losses.append('\n');
        });
        String version = version(s);
        String text = String.format(Locale.ROOT, """
                # Model card: `%s`

                A lab %s model: a small %s-style Mixture-of-Experts language model trained by MoE Adapter's lab on the lab %s
                task suite (`samples/lab/%s/tasks`, %s, described in `samples/lab/README.md`), so that the adaptation methods can be
                measured on a model trained like a real one. It knows nothing but the eight lab tasks.

                | | |
                |---|---|
                | architecture | GGUF `%s`: %d layers, width %d, %d heads, every layer MoE: %d SwiGLU experts of width %d, softmax router, top-%d, weights %s; context %d |
                | parameters | %d, all F32 |
                | vocabulary | character-level (`CharVocabulary`), BOS added |
                | data | lab %s training stream, seed %d: %d%% own tag, %d%% untagged, %d%% misleading tag (answer follows the demonstrations)%s; words of %d–%d letters; evaluation queries held out |
                | objective | next-token cross-entropy on every token + %s × Switch load balancing%s; no forced routing |
                | training | %s × %d items, Adam (β 0.9/0.98), lr %s with 5%% warm-up and cosine decay to 10%%, gradient norm clipped at 1, seed %d, one CPU thread |
                | reproduce | `%s` |

                ## Training (every 100 steps; accuracy: teacher-forced exact match in the PyTorch twin, n = 400 per dev split)

                %s
                """, s.out().getFileName(), version, sh.olmoe() ? "OLMoE" : "Mixtral", version, version,
                s.family().name().toLowerCase(Locale.ROOT) + " family", sh.arch(), sh.layers(), sh.embd(), sh.heads(), sh.experts(), sh.ff(),
                sh.topK(), sh.olmoe() ? "not renormalised" : "renormalised", sh.context(), sh.parameters(), version, s.seed(),
                s.taggedPercent(), s.untaggedPercent(), s.misleadingPercent(),
                s.aliasPercent() == 0 ? "" : String.format(Locale.ROOT, ", %d%% one of the task's %d aliases instead of its tag (alias i %d× as often as alias i+1)",
                        s.aliasPercent(), LabTask.ALIASES, LabTask.ALIAS_RATIO),
                LabSuiteV2.MIN_LENGTH,
                LabSuiteV2.MAX_LENGTH, s.balance(),
                s.group() > 0 ? String.format(Locale.ROOT, " + an expert-grouping loss (weight %s, linearly annealed to 0 at %.0f%% of training: −log of the router mass on the task's own %d experts, items with their own tag%s)",
                        s.group(), 100 * s.groupUntil(), sh.experts() / s.family().tasks().size(),
                        s.groupOn() == LabBatch.GroupOn.ANSWERS ? ", and the answer tokens of untagged" + (s.aliasPercent() > 0 ? ", misleading and aliased" : " and misleading") + " items" : "") : "",
                s.stopAtDev() <= 0 ? s.steps() + " steps"
                        : stop.isPresent()
                        ? String.format(Locale.ROOT, "%d steps (stopped at the first evaluation, every %d steps, whose teacher-forced dev accuracy reached %s; the schedule is that of %d steps)",
                                stop.get().step(), s.evalEvery(), s.stopAtDev(), s.steps())
                        : String.format(Locale.ROOT, "%d steps, the whole schedule (no evaluation, every %d steps, reached the stop's teacher-forced dev accuracy of %s)",
                                s.steps(), s.evalEvery(), s.stopAtDev()),
                s.batch(), s.lr(), s.seed(), command(s), losses);
        if (Files.exists(card)) {
            String old = Files.readString(card);
            int at = old.indexOf(LabResults.CHECKS_HEADING);
            if (at >= 0) text = text + "\n" + old.substring(at);
        }
        Files.writeString(card, text);
    }

    /** The lab version a model belongs to (samples/lab/README.md): the table family is v3's, the chain family v4's, the others v2's. */
    static String version(LabTrainer.Settings s) {
        return switch (s.family()) {
            case TABLES -> "v3";
            case CHAINS -> "v4";
            default -> "v2";
        };
    }

    /** The command that reproduces the model. */
    static String command(LabTrainer.Settings s) {
        TwinShape sh = s.shape();
        String groupOn = (s.groupOn() == LabBatch.GroupOn.TAGGED ? "" : " --group-on " + s.groupOn().flag())
                + (s.family() == LabTask.Family.STRINGS ? "" : " --tasks " + s.family().flag())
                + (s.aliasPercent() == 0 ? "" : " --alias " + s.aliasPercent());
        String stop = s.stopAtDev() > 0 ? String.format(Locale.ROOT, " --eval-every %d --stop-at-dev %s", s.evalEvery(), s.stopAtDev()) : "";
        return String.format(Locale.ROOT, "./moe lab train --arch %s --seed %d --steps %d --batch %d --lr %s --balance %s --group %s --group-until %s%s "
                        + "--untagged %d --misleading %d --layers %d --experts %d --topk %d --ff %d --embd %d%s --out samples/lab/%s/models/%s",
                sh.olmoe() ? "olmoe" : "mixtral", s.seed(), s.steps(), s.batch(), s.lr(), s.balance(), s.group(), s.groupUntil(), groupOn,
                s.untaggedPercent(), s.misleadingPercent(), sh.layers(), sh.experts(), sh.topK(), sh.ff(), sh.embd(), stop, version(s), s.out().getFileName());
    }
}
