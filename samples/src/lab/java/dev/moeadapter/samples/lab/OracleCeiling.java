package dev.moeadapter.samples.lab;

import ai.djl.ndarray.NDManager;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.c3po.ModelFingerprint;
import dev.moeadapter.samples.cli.Cli;
import dev.moeadapter.samples.eval.EvalCommand;
import dev.moeadapter.samples.eval.Proportion;
import dev.moeadapter.samples.lab.LabSuiteV2.Part;
import dev.moeadapter.samples.lab.LabSuiteV2.Split;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The per-item routing ceiling of a lab v2 split: the router oracle ({@link RouterOracle}: one
 * logit delta per layer and expert, exact gradients on the gold answer in the PyTorch twin, answered
 * by llama.cpp), run on every item the base gets wrong, then restarted from random deltas on the
 * items still wrong, at most twice. An item counts as reachable when the base or any attempt
 * answers it. Resumable: every chunk of 100 items is saved to {@code DIR/oracle-SPLIT.json} as it
 * finishes, and a rerun with the same settings skips what is done. Dev and test splits only. A split
 * whose base accuracy already rules it out (see {@link LabCheck#baseInBand}) is skipped unless
 * {@code --always true}.
 *
 * <p>{@code OracleCeiling --model F.gguf --split misleading-dev [--restarts 2] [--steps 60] [--lr 0.3] [--out DIR] [--always true] [--tasks strings|ciphers|tables|chains]}
 */
public final class OracleCeiling {

    private static final Logger LOG = LoggerFactory.getLogger(OracleCeiling.class);
    private static final JsonMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();
    static final int MAX_RESTARTS = 2;
    static final float RESTART_SCALE = 1f;


    private OracleCeiling() {}

    public static void main(String[] args) throws Exception {
        Cli.run("lab ceiling", null, () -> {
            Map<String, String> a = EvalCommand.parse(args);
            Path gguf = Path.of(EvalCommand.require(a, "model"));
            Split split = Split.named(EvalCommand.require(a, "split"));
            if (split.part() == Part.REF) throw new IllegalArgumentException("the oracle ceiling is measured on dev and test splits only");
            int restarts = Integer.parseInt(a.getOrDefault("restarts", String.valueOf(MAX_RESTARTS)));
            if (restarts < 0 || restarts > MAX_RESTARTS) throw new IllegalArgumentException("--restarts must be 0.." + MAX_RESTARTS);
            int steps = Integer.parseInt(a.getOrDefault("steps", "60"));
            float lr = Float.parseFloat(a.getOrDefault("lr", "0.3"));
            Path out = Path.of(a.getOrDefault("out", "target/lab-check/" + gguf.getFileName().toString().replace(".gguf", "")));
            Path file = out.resolve("oracle-" + split.name() + ".json");
            List<LabItem> items = LabSuiteV2.split(LabTask.Family.named(a.getOrDefault("tasks", "strings")), split);

            OracleProgress p = Files.exists(file) ? JSON.readValue(file.toFile(), OracleProgress.class) : null;
            String sha = ModelFingerprint.sha256(gguf);
            if (p != null && !(p.of(sha) && p.steps() == steps && p.lr() == lr)) {
                throw new IllegalStateException(file + " holds another run's progress (" + p.model() + ", " + p.steps() + " steps, lr " + p.lr() + ")");
            }
            try (NDManager root = NDManager.newBaseManager(); MoeTwin twin = MoeTwin.load(gguf, root);
                 Model model = Model.load(ModelParams.of(gguf))) {
                if (p == null) {
                    boolean[] base = RouterOracle.answer(model, items, null);
                    Map<String, Boolean> b = new LinkedHashMap<>();
                    int right = 0;
                    for (int i = 0; i < items.size(); i++) {
                        b.put(items.get(i).id(), base[i]);
                        right += base[i] ? 1 : 0;
                    }
                    Proportion baseP = Proportion.of(right, items.size());
                    if (!LabCheck.baseInBand(split, baseP) && !Boolean.parseBoolean(a.getOrDefault("always", "false"))) {
                        // hours of oracle work could not make this split usable: the acceptance check freezes it without
                        System.out.printf("%s on %s: base %s is outside the band a split needs; the oracle is not run (--always true runs it)%n",
                                gguf.getFileName(), split.name(), baseP);
                        return;
                    }
                    p = new OracleProgress(gguf.getFileName().toString(), sha, split.name(), steps, lr, b, new LinkedHashMap<>());
                    save(file, p);
                }
                for (int r = 0; r <= restarts; r++) {
                    Map<String, Boolean> attempt = p.attempts().computeIfAbsent(r, k -> new LinkedHashMap<>());
                    List<LabItem> todo = new ArrayList<>();
                    for (LabItem it : items) {
                        if (!p.reached(it.id(), r) && !attempt.containsKey(it.id())) todo.add(it);
                    }
                    LOG.info("{} on {}: attempt {} ({}), {} items to try", gguf.getFileName(), split.name(), r + 1,
                            r == 0 ? "from zero" : "restart from random deltas", todo.size());
                    for (int from = 0; from < todo.size(); from += 100) {
                        List<LabItem> chunk = todo.subList(from, Math.min(todo.size(), from + 100));
                        float[] deltas = RouterOracle.optimise(twin, root, chunk, steps, lr, RouterOracle.Objective.ANSWER,
                                1000L * r + from, r == 0 ? 0 : RESTART_SCALE);
                        boolean[] ok = RouterOracle.answer(model, chunk, deltas);
                        for (int i = 0; i < chunk.size(); i++) attempt.put(chunk.get(i).id(), ok[i]);
                        save(file, p);
                        LOG.info("attempt {}: {}/{} items tried, saved to {}", r + 1, Math.min(todo.size(), from + 100), todo.size(), file);
                    }
                }
            }
            int reachable = 0, base = 0;
            for (LabItem it : items) {
                reachable += p.reached(it.id(), restarts + 1) ? 1 : 0;
                base += p.base().get(it.id()) ? 1 : 0;
            }
            System.out.printf("%s on %s (n=%d): base %s, routing ceiling (oracle, %d restarts) %s%n", gguf.getFileName(), split.name(),
                    items.size(), Proportion.of(base, items.size()), restarts, Proportion.of(reachable, items.size()));
        });
    }

    private static void save(Path file, OracleProgress p) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        JSON.writeValue(tmp.toFile(), p);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
