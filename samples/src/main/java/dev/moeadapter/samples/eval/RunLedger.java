package dev.moeadapter.samples.eval;

import dev.moeadapter.c3po.ModelFingerprint;
import dev.moeadapter.core.InvalidRequestException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Keeps test splits honest. A task suite whose {@code tasks/} folder has an {@code acceptance.json}
 * beside it is guarded: its acceptance checks were measured and frozen per model (by SHA-256)
 * before any method ran on its test splits, stating per split which methods it can test. A run on
 * a guarded test split is refused unless the model has a frozen entry for that split and the
 * entry says the arm's method can be tested there (the base arm needs the entry only); every run
 * that goes ahead is appended to {@code ledger.jsonl} (time, model, split, arm, settings hash,
 * commit), so how often a test split was looked at is on record.
 *
 * <p>A frozen "cannot test" protects against reading a null result as evidence: a method without
 * headroom on a split cannot fail there. It says nothing against a gain. So an arm registered, after
 * the dev runs and before any test run, to run on such a split anyway goes ahead with
 * {@code --outside-check REGISTRATION} (where the registration is written); the ledger line carries
 * it, and its result counts only as a gain, never as a null.
 *
 * <p>Each arm runs once on a test split: a run whose model, split, arm and settings are already on
 * record is refused, unless {@code --rerun REASON} says why it runs again (a crash cut the first
 * run short, say); the ledger line carries the reason.
 */
public final class RunLedger {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Pattern TEST_SPLIT = Pattern.compile("(.+-)?test\\.jsonl");

    private final Path acceptance;
    private final Path ledger;

    private RunLedger(Path acceptance, Path ledger) {
        this.acceptance = acceptance;
        this.ledger = ledger;
    }

    /** The guard of {@code bench}'s suite, or null when the file is not a guarded test split. */
    public static RunLedger forBenchmark(Path bench) {
        Path tasks = bench.toAbsolutePath().getParent();
        if (tasks == null || !TEST_SPLIT.matcher(bench.getFileName().toString()).matches()) return null;
        Path acceptance = tasks.resolveSibling("acceptance.json");
        return Files.exists(acceptance) ? new RunLedger(acceptance, tasks.resolveSibling("ledger.jsonl")) : null;
    }

    /**
     * The method an arm of the harness tests: "base", "scmoe", "rerouting", "c3po", or "c3po-optimised-refs" for
     * C3PO on a reference set whose failures were kept under fitted pathways (LAB.md principle 5's optional recipe,
     * which has an acceptance verdict of its own).
     */
    static String method(String policy, Map<String, String> settings) {
        String recipe = settings.getOrDefault(REFERENCE_RECIPE, PAPER);
        if (!recipe.equals(PAPER) && !recipe.equals(OPTIMISED_FAILURES)) {
            throw new InvalidRequestException("--" + REFERENCE_RECIPE + " must be " + PAPER + " or " + OPTIMISED_FAILURES + ", not " + recipe);
        }
        boolean c3po = policy.startsWith("c3po");
        if (!c3po && settings.containsKey(REFERENCE_RECIPE)) {
            throw new InvalidRequestException("--" + REFERENCE_RECIPE + " applies to the c3po policies only");
        }
        return switch (policy) {
            case "none" -> "base";
            case "scmoe", "rerouting" -> policy;
            default -> !c3po ? policy : recipe.equals(PAPER) ? "c3po" : "c3po-optimised-refs";
        };
    }

    /** The eval flag that says how the C3PO arm's reference set was built: {@value #PAPER} or {@value #OPTIMISED_FAILURES}. */
    public static final String REFERENCE_RECIPE = "reference-recipe";
    public static final String PAPER = "paper", OPTIMISED_FAILURES = "optimised-failures";

    /** The eval flag of a run registered to go ahead where the frozen check says the split cannot test its method. */
    public static final String OUTSIDE_CHECK = "outside-check";

    /** The eval flag that says why a run already on record runs again; it is not one of the run's settings. */
    public static final String RERUN = "rerun";

    /**
     * Refuses the run unless the frozen acceptance entry allows it, then records it. {@code settings}
     * are the run's arguments that shape the answer (paths and thread counts excluded by the caller).
     */
    public void admit(Path model, Path bench, String policy, Map<String, String> settingsAndRerun) {
        Map<String, String> settings = new TreeMap<>(settingsAndRerun);
        String rerun = settings.remove(RERUN);
        if (rerun != null && rerun.isBlank()) {
            throw new InvalidRequestException("--" + RERUN + " says why the run goes again");
        }
        String sha = ModelFingerprint.sha256(model);
        String split = bench.getFileName().toString().replace(".jsonl", "");
        JsonNode entry = read().path(sha).path("splits").path(split);
        if (entry.isMissingNode()) {
            throw new InvalidRequestException("no frozen acceptance entry for " + model.getFileName() + " (" + sha.substring(0, 12)
                    + "…) on " + split + " in " + acceptance + ": run and freeze the acceptance checks first (./moe lab check --freeze true)");
        }
        String method = method(policy, settings);
        String outside = settings.get(OUTSIDE_CHECK);
        if (outside != null && outside.isBlank()) {
            throw new InvalidRequestException("--" + OUTSIDE_CHECK + " names where the run was registered");
        }
        if (!method.equals("base") && outside == null && !entry.path("canTest").path(method).asBoolean(false)) {
            throw new InvalidRequestException("the frozen acceptance checks say " + split + " cannot test " + method + " on "
                    + model.getFileName() + " (" + entry.path("why").asString("") + "); a run there would be no evidence either way");
        }
        String settingsHash = hash(settings);
        JsonNode earlier = earlierRun(sha, split, policy, settingsHash);
        if (earlier != null && rerun == null) {
            throw new InvalidRequestException(policy + " already ran on " + split + " of " + model.getFileName() + " with these settings ("
                    + earlier.path("time").asString("") + ", commit " + earlier.path("commit").asString("") + "): a test split runs once per arm; "
                    + "--" + RERUN + " REASON runs it again on record");
        }
        ObjectNode line = JSON.createObjectNode()
                .put("time", Instant.now().toString())
                .put("model", model.getFileName().toString()).put("modelSha256", sha)
                .put("split", split).put("arm", policy).put("settings", settingsHash).put("commit", Git.head());
        if (rerun != null) {
            line.put("rerun", rerun);
        }
        if (outside != null) {
            line.put("outsideCheck", outside).put("frozenVerdict", entry.path("why").asString(""));
        }
        try {
            Files.writeString(ledger, JSON.writeValueAsString(line) + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to the run ledger " + ledger, e);
        }
    }

    /** The first run on record with this model, split, arm and settings, or null. */
    private JsonNode earlierRun(String sha, String split, String arm, String settingsHash) {
        if (!Files.exists(ledger)) {
            return null;
        }
        try {
            for (String l : Files.readAllLines(ledger, StandardCharsets.UTF_8)) {
                if (l.isBlank()) {
                    continue;
                }
                JsonNode run = JSON.readTree(l);
                if (sha.equals(run.path("modelSha256").asString("")) && split.equals(run.path("split").asString(""))
                        && arm.equals(run.path("arm").asString("")) && settingsHash.equals(run.path("settings").asString(""))) {
                    return run;
                }
            }
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the run ledger " + ledger, e);
        } catch (RuntimeException e) {
            throw new InvalidRequestException("cannot read the run ledger " + ledger + ": " + e.getMessage());
        }
    }

    private JsonNode read() {
        try {
            return JSON.readTree(acceptance.toFile());
        } catch (RuntimeException e) {
            throw new InvalidRequestException("cannot read " + acceptance + ": " + e.getMessage());
        }
    }

    /** A short, order-independent hash of the settings. */
    static String hash(Map<String, String> settings) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(new TreeMap<>(settings).toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The commit the harness runs from, or "unknown" outside a git checkout. */
    static final class Git {
        private Git() {}

        static String head() {
            try {
                Process p = new ProcessBuilder("git", "rev-parse", "HEAD").redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                return p.waitFor() == 0 && out.matches("[0-9a-f]{40}") ? out : "unknown";
            } catch (IOException e) {
                return "unknown";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "unknown";
            }
        }
    }
}
