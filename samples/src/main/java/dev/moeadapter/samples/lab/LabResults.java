package dev.moeadapter.samples.lab;

import dev.moeadapter.samples.cli.Cli;
import dev.moeadapter.samples.eval.C3poBuildCommand;
import dev.moeadapter.samples.eval.CompareCommand;
import dev.moeadapter.samples.eval.EvalCommand;
import dev.moeadapter.samples.lab.LabSuiteV2.Part;
import dev.moeadapter.samples.lab.LabSuiteV2.Split;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Produces {@code docs/lab-results.md} from the harness's own output, never by hand: for every
 * architecture (its training seeds' models) the acceptance checks of every split (frozen into the
 * suite's {@code acceptance.json} as a side effect), then every method at its defaults on each dev
 * split that the checks say can test it, paired against the base per seed and pooled over seeds
 * ({@link CompareCommand}), and a "cannot test" row with the reason everywhere else. Test splits are
 * not run here. Each architecture's section is kept under {@code OUT/sections}, and the page is put
 * together from every section there, so architectures can be run separately.
 *
 * <p>{@code LabResults --arch olmoe=S1.gguf,S2.gguf [--arch mixtral=…] [--out target/lab-v2] [--doc docs/lab-results.md]
 * [--reuse true]}: with {@code --reuse}, checks and runs already in {@code OUT} that are newer than the model and its
 * oracle files are read instead of measured again (after a change to a method, leave it off).
 */
public final class LabResults {

    /** The arm whose reference set also keeps the failures a pathway fitted to their gold answer makes right. */
    private static final String OPTIMISED_REFS = "c3po-ngd-optimised-refs";

    /**
     * The arms of the first results: every method at its defaults; C3PO with the shift's own reference
     * set, NGD both where the released code injects ω (from the last prompt token on, the default) and
     * at the last prompt token only; and NGD at its defaults with the shift's reference set built with
     * optimised failures (LAB.md principle 5's optional recipe), a row of its own beside the paper's.
     */
    static final List<String> ARMS = List.of("scmoe", "rerouting", "c3po-kr", "c3po-mode", "c3po-ngd", "c3po-ngd-inject-last", OPTIMISED_REFS);

    /** The harness's policy and extra flags of an arm. */
    private static List<String> policyOf(String arm) {
        return switch (arm) {
            case "c3po-ngd-inject-last" -> List.of("--policy", "c3po-ngd", "--inject", "last");
            case OPTIMISED_REFS -> List.of("--policy", "c3po-ngd");
            default -> List.of("--policy", arm);
        };
    }
    private static final Path TASKS = Path.of("samples/lab/v2/tasks");
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private LabResults() {}

    public static void main(String[] args) throws Exception {
        Cli.run("lab results", null, () -> {
            Map<String, List<String>> arches = new LinkedHashMap<>();
            Path out = Path.of("target/lab-v2"), doc = Path.of("docs/lab-results.md");
            boolean reuse = false;
            for (int i = 0; i + 1 < args.length; i += 2) {
                switch (args[i]) {
                    case "--arch" -> {
                        String[] kv = args[i + 1].split("=", 2);
                        arches.put(kv[0], List.of(kv[1].split(",")));
                    }
                    case "--out" -> out = Path.of(args[i + 1]);
                    case "--doc" -> doc = Path.of(args[i + 1]);
                    case "--reuse" -> reuse = Boolean.parseBoolean(args[i + 1]);
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (arches.isEmpty()) throw new IllegalArgumentException("name at least one --arch NAME=MODEL.gguf[,MODEL.gguf…] (one file per training seed)");
            List<Split> evaluated = Split.all().stream().filter(s -> s.part() != Part.REF).toList();
            List<Split> dev = evaluated.stream().filter(s -> s.part() == Part.DEV).toList();
            for (var arch : arches.entrySet()) {
                StringBuilder md = new StringBuilder();
                int seeds = arch.getValue().size();
                md.append("\n## ").append(arch.getKey()).append(" (").append(seeds).append(seeds == 1 ? " training seed" : " training seeds")
                        .append(")\n\n### Acceptance checks\n\n");
                List<Path> checkDirs = new ArrayList<>();
                for (String model : arch.getValue()) {
                    Path dir = out.resolve(name(model)).resolve("check");
                    if (reuse && upToDate(dir.resolve("check.json"), Path.of(model), dir)) {
                        System.out.println("reusing " + dir.resolve("check.json") + " (newer than the model and its oracle files)");
                    } else {
                        LabCheck.main(new String[] {"--model", model, "--splits", String.join(",", evaluated.stream().map(Split::name).toList()),
                                "--out", dir.toString(), "--freeze", "true"});
                    }
                    checkDirs.add(dir);
                    String check = Files.readString(dir.resolve("check.md"));
                    md.append(check).append('\n');
                    appendToCard(Path.of(model.replaceFirst("\\.gguf$", "") + ".md"), check);
                }
                md.append("### First results on the dev splits (every method at its defaults, paired against the base)\n\n");
                for (Split split : dev) {
                    md.append("#### ").append(split.name()).append("\n\n");
                    List<String> base = new ArrayList<>();
                    Map<String, List<String>> arms = new LinkedHashMap<>();
                    List<String> cannot = new ArrayList<>();
                    for (int s = 0; s < arch.getValue().size(); s++) {
                        String model = arch.getValue().get(s);
                        base.add(eval(model, split, "none", out, checkDirs.get(s), reuse));
                    }
                    for (String arm : ARMS) {
                        String why = cannotTest(checkDirs, split, arm);
                        if (why != null) {
                            cannot.add("| " + arm + " | cannot test: " + why + " |");
                            continue;
                        }
                        List<String> files = new ArrayList<>();
                        for (int s = 0; s < arch.getValue().size(); s++) files.add(eval(arch.getValue().get(s), split, arm, out, checkDirs.get(s), reuse));
                        arms.put(arm, files);
                    }
                    if (!arms.isEmpty()) md.append(CompareCommand.markdown(CompareCommand.compare(base, arms))).append('\n');
                    if (!cannot.isEmpty()) md.append("| arm | |\n|---|---|\n").append(String.join("\n", cannot)).append("\n\n");
                }
                Path section = out.resolve("sections").resolve(arch.getKey() + ".md");
                Files.createDirectories(section.getParent());
                Files.writeString(section, md, StandardCharsets.UTF_8);
            }
            writeDoc(doc, out.resolve("sections"));
            System.out.println("wrote " + doc);
        });
    }

    /**
     * The page: the header, then every architecture's latest section in name order, so that runs per
     * architecture (side by side, or one after another) add up to one page.
     */
    static void writeDoc(Path doc, Path sections) throws java.io.IOException {
        StringBuilder md = new StringBuilder(HEADER);
        try (var files = Files.list(sections)) {
            for (Path f : files.filter(f -> f.toString().endsWith(".md")).sorted().toList()) md.append(Files.readString(f));
        }
        Files.writeString(doc, md, StandardCharsets.UTF_8);
    }

    /** Puts the acceptance checks into the model card, replacing an earlier run's. */
    static void appendToCard(Path card, String check) throws java.io.IOException {
        if (!Files.exists(card)) return;
        String text = Files.readString(card);
        int at = text.indexOf(CHECKS_HEADING);
        if (at >= 0) text = text.substring(0, at);
        Files.writeString(card, text.stripTrailing() + "\n\n" + CHECKS_HEADING + " (through llama.cpp; `./moe lab results`)\n\n" + check);
    }

    /** The heading under which a model card holds its acceptance checks. */
    static final String CHECKS_HEADING = "## Acceptance checks";

    /** Why the split cannot test the arm's method on some seed's model, or null when every seed's check allows it. */
    static String cannotTest(List<Path> checkDirs, Split split, String arm) throws Exception {
        String method = arm.startsWith("c3po") ? "c3po" : arm;
        for (Path dir : checkDirs) {
            for (JsonNode c : JSON.readTree(dir.resolve("check.json").toFile()).path("splits")) {
                if (!c.path("split").asString().equals(split.name())) continue;
                if (!c.path("verdict").path(method).asBoolean(false)) return reasonFor(method, c.path("verdict").path("why").asString());
            }
        }
        return null;
    }

    /** The parts of a verdict's reasons that concern {@code method}: the split's own, and the method's check (e.g. "C3PO: …"). */
    static String reasonFor(String method, String why) {
        List<String> kept = new ArrayList<>();
        for (String part : why.split("; ")) {
            String label = part.contains(":") ? part.substring(0, part.indexOf(':')).toLowerCase(java.util.Locale.ROOT) : "";
            boolean methodCheck = label.equals("scmoe") || label.equals("rerouting") || label.equals("c3po");
            if (!methodCheck || label.equals(method)) kept.add(part);
        }
        return kept.isEmpty() ? why : String.join("; ", kept);
    }

    /** Whether {@code file} was written after the model and every file in {@code dir} it reads (oracle progress). */
    private static boolean upToDate(Path file, Path model, Path dir) throws java.io.IOException {
        if (!Files.exists(file)) return false;
        List<Path> inputs = new ArrayList<>(List.of(model));
        try (var files = Files.list(dir)) {
            files.filter(f -> f.getFileName().toString().startsWith("oracle-")).forEach(inputs::add);
        }
        var written = Files.getLastModifiedTime(file);
        for (Path input : inputs) {
            if (Files.getLastModifiedTime(input).compareTo(written) > 0) return false;
        }
        return true;
    }

    private static String eval(String model, Split split, String arm, Path out, Path checkDir, boolean reuse) throws Exception {
        Path dir = out.resolve(name(model)).resolve(split.name()).resolve(arm);
        if (reuse && upToDate(dir.resolve("result.json"), Path.of(model), checkDir)) {
            return dir.resolve("result.json").toString(); // this model's run of the arm, after its checks: the answers would be the same
        }
        List<String> args = new ArrayList<>(List.of("--model", model, "--bench", TASKS.resolve(split.fileName()).toString(),
                "--max-tokens", "16", "--threads", "1", "--ctx", "256", "--out", dir.toString()));
        args.addAll(policyOf(arm));
        if (arm.startsWith("c3po")) {
            Split ref = new Split(split.shift(), Part.REF);
            Path set = arm.equals(OPTIMISED_REFS) ? optimisedReferences(model, ref, checkDir, reuse) : checkDir.resolve(ref.name() + ".c3po");
            args.addAll(List.of("--reference", set.toString()));
        }
        EvalCommand.run(args.toArray(String[]::new));
        return dir.resolve("result.json").toString();
    }

    /**
     * The ref split's reference set with optimised failures, next to the paper's ({@code REF-optimised.c3po}
     * in the check dir), built by c3po-build with the settings LabCheck builds the paper's with. Each
     * shift has one dev split, so a run builds it once per model and ref split.
     */
    private static Path optimisedReferences(String model, Split ref, Path checkDir, boolean reuse) throws Exception {
        Path file = checkDir.resolve(ref.name() + "-optimised.c3po");
        if (reuse && upToDate(file, Path.of(model), checkDir)) {
            return file;
        }
        C3poBuildCommand.run(new String[] {"--model", model, "--bench", TASKS.resolve(ref.fileName()).toString(), "--out", file.toString(),
                "--max-tokens", "16", "--answer-tokens", "16", "--threads", "1", "--ctx", "256", "--progress-every", "100",
                "--optimise-failures", "true"});
        return file;
    }

    private static String name(String model) {
        return Path.of(model).getFileName().toString().replace(".gguf", "");
    }

    private static final String HEADER = """
            # Results on the lab models

            Generated by `./moe lab results` (`LabResults`) from the harness's own output; do not edit by hand.
            The models, the suite, its three pre-registered shifts and the acceptance checks are described in
            [samples/lab/README.md](../samples/lab/README.md); the in-distribution splits (`dev`, `test`) are drawn like
            training: per task 25 items with their own tag, 20 untagged and 5 with a misleading tag. The arm
            `c3po-ngd-optimised-refs` is C3PO's optional recipe (reference failures kept with a pathway fitted to their gold
            answer, [c3po.md](c3po.md)), reported beside the paper's. Every figure: greedy decoding through llama.cpp, exact
            match, n = 400 per split and seed, 95% Wilson intervals for single arms. Arms are compared with the base on
            the same items: per seed the exact McNemar test and Newcombe's paired interval, pooled over seeds the exact
            item-level sign-flip test, p-values Holm-corrected across the arms of a split
            ([docs/evaluation.md](evaluation.md)). A split whose acceptance check fails for a method is reported as
            "cannot test", not as a null result. Test splits are run once per pre-registered arm, through the run ledger
            (`samples/lab/v2/ledger.jsonl`); their results are in [lab-test-results.md](lab-test-results.md), not here.
            C3PO's neighbour purity per embedder (character trigrams and each model's hidden state, on every split) is in
            [lab-purity.md](lab-purity.md), generated separately by `./moe lab purity`.

            The version-1 models and suite (`samples/lab/models`, `samples/lab/tasks`) stay as regression fixtures; no
            result is reported on them any more: their shifted split could not test any method (see the lab README).
            """;
}
