package dev.moeadapter.samples.eval;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.samples.cli.Cli;
import dev.moeadapter.samples.eval.stats.Holm;
import dev.moeadapter.samples.eval.stats.PairedComparison;
import dev.moeadapter.samples.eval.stats.PooledComparison;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Compares arms with a base on the same items, from the harness's {@code result.json} files.
 * <pre>
 *   compare BASE.json ARM.json                                   one run each
 *   compare --base B1.json,B2.json --arm NAME=A1.json,A2.json [--arm NAME2=…] [--out DIR]
 * </pre>
 * The i-th file of every list is the i-th training seed. Per arm: per seed the paired table, exact
 * McNemar p and paired 95% interval; pooled over seeds the item-level sign-flip test; p-values
 * Holm-corrected across the arms of the call. Prints the table and writes DIR/compare.json,
 * DIR/compare.md and DIR/compare.html.
 */
public final class CompareCommand {

    private static final JsonMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    /** One arm's comparison with the base. */
    public record ArmComparison(String arm, List<String> files, PooledComparison pooled, double holmP) {}

    /** The whole comparison: base files, the model each seed's base ran (the seeds' labels), the benchmark, and every arm. */
    public record Comparison(String benchmark, List<String> base, List<String> seedModels, List<ArmComparison> arms) {}

    private CompareCommand() {}

    private static final String USAGE = "usage: ./moe compare BASE.json ARM.json [--out DIR]"
            + " | ./moe compare --base B1.json[,B2.json…] --arm NAME=A1.json[,A2.json…] [--arm …] [--out DIR]\n";

    public static void main(String[] args) throws Exception {
        Cli.run("compare", USAGE, () -> {
            if (args.length == 0 || Arrays.asList(args).contains("--help")) {
                System.out.print(USAGE);
                return;
            }
            List<String> base = new ArrayList<>(), files = new ArrayList<>();
            Map<String, List<String>> arms = new LinkedHashMap<>();
            Path out = Path.of("compare-out");
            for (int i = 0; i < args.length; i++) {
                if (!args[i].startsWith("--")) {
                    files.add(args[i]);
                    continue;
                }
                if (i + 1 >= args.length) throw new InvalidRequestException("missing a value after " + args[i]);
                String v = args[++i];
                switch (args[i - 1]) {
                    case "--base" -> base.addAll(List.of(v.split(",")));
                    case "--arm" -> {
                        int eq = v.indexOf('=');
                        if (eq <= 0) throw new InvalidRequestException("--arm takes NAME=FILE[,FILE…], got " + v);
                        arms.put(v.substring(0, eq), List.of(v.substring(eq + 1).split(",")));
                    }
                    case "--out" -> out = Path.of(v);
                    default -> throw new InvalidRequestException("unknown option " + args[i - 1]);
                }
            }
            if (!files.isEmpty()) {
                if (files.size() != 2 || !base.isEmpty() || !arms.isEmpty()) {
                    throw new InvalidRequestException("give two files, BASE.json ARM.json, or --base and --arm; got " + files);
                }
                base.add(files.get(0));
                Path arm = Path.of(files.get(1)).toAbsolutePath().getParent();
                arms.put(arm == null || arm.getFileName() == null ? "arm" : arm.getFileName().toString(), List.of(files.get(1)));
            }
            Comparison c = compare(base, arms);
            System.out.print(table(c));
            Files.createDirectories(out);
            JSON.writeValue(out.resolve("compare.json").toFile(), c);
            Files.writeString(out.resolve("compare.md"), markdown(c), StandardCharsets.UTF_8);
            Files.writeString(out.resolve("compare.html"), html(c), StandardCharsets.UTF_8);
            System.out.println("wrote " + out.resolve("compare.json") + ", compare.md and compare.html");
        });
    }

    /** Pairs every arm's files with the base's, seed by seed, by item id. */
    public static Comparison compare(List<String> base, Map<String, List<String>> arms) throws IOException {
        if (base.isEmpty() || arms.isEmpty()) throw new InvalidRequestException("need base files and at least one arm");
        List<Outcomes> baseRuns = new ArrayList<>();
        for (String f : base) baseRuns.add(Outcomes.read(Path.of(f)));
        List<String> ids = baseRuns.getFirst().ids();
        for (Outcomes o : baseRuns) o.requireSameItems(ids, baseRuns.getFirst());
        List<PooledComparison> pooled = new ArrayList<>();
        for (var arm : arms.entrySet()) {
            if (arm.getValue().size() != base.size()) {
                throw new InvalidRequestException("arm " + arm.getKey() + " has " + arm.getValue().size() + " files, the base " + base.size() + " (one per seed)");
            }
            List<boolean[]> b = new ArrayList<>(), a = new ArrayList<>();
            for (int s = 0; s < base.size(); s++) {
                Outcomes o = Outcomes.read(Path.of(arm.getValue().get(s)));
                o.requireSameItems(ids, baseRuns.get(s));
                b.add(baseRuns.get(s).correct(ids));
                a.add(o.correct(ids));
            }
            pooled.add(PooledComparison.of(b, a));
        }
        double[] holm = Holm.adjust(pooled.stream().mapToDouble(PooledComparison::p).toArray());
        List<ArmComparison> out = new ArrayList<>();
        int i = 0;
        for (var arm : arms.entrySet()) {
            out.add(new ArmComparison(arm.getKey(), arm.getValue(), pooled.get(i), holm[i]));
            i++;
        }
        return new Comparison(baseRuns.getFirst().benchmark(), List.copyOf(base), baseRuns.stream().map(Outcomes::model).toList(), out);
    }

    /** Item outcomes of one result file, by id. */
    private record Outcomes(Path file, String model, String benchmark, Map<String, Boolean> byId) {
        static Outcomes read(Path file) throws IOException {
            if (!Files.isReadable(file)) throw new InvalidRequestException("cannot read " + file);
            JsonNode root = JSON.readTree(file.toFile());
            Map<String, Boolean> byId = new LinkedHashMap<>();
            for (JsonNode it : root.path("items")) byId.put(it.path("id").asString(), it.path("correct").asBoolean());
            if (byId.isEmpty()) throw new InvalidRequestException(file + " holds no item results (expected the harness's result.json)");
            return new Outcomes(file, root.path("model").asString(file.toString()), root.path("benchmark").asString(), byId);
        }

        List<String> ids() { return List.copyOf(byId.keySet()); }

        void requireSameItems(List<String> ids, Outcomes other) {
            if (!byId.keySet().equals(new java.util.HashSet<>(ids))) {
                throw new InvalidRequestException(file + " and " + other.file + " did not answer the same items: a paired comparison needs them");
            }
        }

        boolean[] correct(List<String> ids) {
            boolean[] c = new boolean[ids.size()];
            for (int i = 0; i < c.length; i++) c[i] = byId.get(ids.get(i));
            return c;
        }
    }

    static String table(Comparison c) {
        StringBuilder sb = new StringBuilder("paired comparison on " + c.benchmark() + " (arm − base)\n");
        for (ArmComparison a : c.arms()) {
            PooledComparison p = a.pooled();
            for (int s = 0; s < p.perSeed().size(); s++) sb.append(String.format(Locale.ROOT, "  %-20s %s  %s%n", a.arm(), c.seedModels().get(s), p.perSeed().get(s)));
            sb.append(String.format(Locale.ROOT, "  %-20s pooled  %s, Holm p = %.4g%n", a.arm(), p, a.holmP()));
        }
        return sb.toString();
    }

    public static String markdown(Comparison c) {
        StringBuilder sb = new StringBuilder("| arm | model (seed) | accuracy change [95% CI] | wrong→right | right→wrong | p | Holm p |\n|---|---|---|---|---|---|---|\n");
        for (ArmComparison a : c.arms()) {
            PooledComparison p = a.pooled();
            for (int s = 0; s < p.perSeed().size(); s++) {
                PairedComparison x = p.perSeed().get(s);
                sb.append(String.format(Locale.ROOT, "| %s | %s | %+.2f [%+.2f, %+.2f] | %d | %d | %.3g (McNemar) | |%n",
                        a.arm(), c.seedModels().get(s), 100 * x.difference(), 100 * x.low(), 100 * x.high(), x.wrongToRight(), x.rightToWrong(), x.mcnemarP()));
            }
            int wr = p.perSeed().stream().mapToInt(PairedComparison::wrongToRight).sum();
            int rw = p.perSeed().stream().mapToInt(PairedComparison::rightToWrong).sum();
            sb.append(String.format(Locale.ROOT, "| %s | pooled (%d) | %+.2f [%+.2f, %+.2f] | %d | %d | %.3g (sign-flip) | %.3g |%n",
                    a.arm(), p.seeds(), 100 * p.difference(), 100 * p.low(), 100 * p.high(), wr, rw, p.p(), a.holmP()));
        }
        return sb.toString();
    }

    static String html(Comparison c) {
        StringBuilder rows = new StringBuilder();
        for (String line : markdown(c).split("\n")) {
            if (line.startsWith("|---")) continue;
            String[] cells = line.substring(1, line.length() - 1).split("\\|");
            String tag = rows.isEmpty() ? "th" : "td";
            rows.append("<tr>");
            for (String cell : cells) rows.append('<').append(tag).append('>').append(HtmlReport.esc(cell.strip())).append("</").append(tag).append('>');
            rows.append("</tr>\n");
        }
        return """
                <!doctype html><html><head><meta charset="utf-8"><title>MoE Adapter paired comparison</title>
                <style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
                td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>
                """
                + "<h1>Paired comparison: " + HtmlReport.esc(c.benchmark()) + "</h1>"
                + "<p>Each arm against the base on the same items (arm − base). Per seed: exact McNemar test and Newcombe's paired 95% interval. "
                + "Pooled over seeds: exact item-level sign-flip test, item-level 95% interval; p-values Holm-corrected across the arms.</p>"
                + "<table>" + rows + "</table></body></html>\n";
    }
}
