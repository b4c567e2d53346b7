package dev.moeadapter.samples.lab;

import dev.moeadapter.samples.cli.Cli;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The lab task suite, generated deterministically from a seed.
 *
 * <p>An item shows a tag and two demonstrations, then a query: {@code REV:abc=cba,hgde=edgh,bfa=}
 * with answer {@code afb}. Demonstrations are drawn so that they rule out every other task (for
 * each other task, some demonstration's output differs), so the task is always recoverable from
 * them alone.
 *
 * <p>The training stream mixes three kinds of item: 60% with the task's own tag, 20% untagged
 * ({@value #UNTAGGED}: only the demonstrations tell), and 20% with a misleading tag (another
 * task's) on which the trainer forces the routing toward the true task's experts. The router itself
 * only ever learns from truthful or absent tags; the rest of the network learns that the experts a
 * token reaches, not the tag, decide the task.
 *
 * <p>The shifted splits carry a misleading tag. The router follows the tag, so the base model
 * fails although the demonstrations say what to do; sending the tokens to the right experts fixes
 * the answer — routing is the lever, which the router oracle proves before any method relies on it.
 *
 * <p>Splits use separate random streams, and a (task, query) pair held out for evaluation never
 * appears as a training query.
 */
public final class LabSuite {

    public static final String UNTAGGED = "???";
    public static final int MIN_LENGTH = 3, MAX_LENGTH = 6, DEMONSTRATIONS = 2;
    public static final long SEED = 20261122L;

    /** Split name → (stream id, number of items, shifted?). */
    public enum Split {
        TRAIN(0, 5000, false), REFERENCE(1, 800, false), DEV(2, 400, false), TEST(3, 400, false),
        DEV_SHIFTED(4, 400, true), TEST_SHIFTED(5, 400, true);

        final int stream;
        public final int size;
        public final boolean shifted;

        Split(int stream, int size, boolean shifted) {
            this.stream = stream;
            this.size = size;
            this.shifted = shifted;
        }

        public String fileName() { return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') + ".jsonl"; }
    }

    private static final List<LabTask> TASKS = LabTask.Family.STRINGS.tasks();

    private LabSuite() {}

    /** The items of an evaluation split (balanced over tasks) or the first items of the training stream. */
    public static List<LabItem> split(Split split) {
        if (split == Split.TRAIN) {
            Generator g = training(Set.of());
            List<LabItem> out = new ArrayList<>(split.size);
            for (int i = 0; i < split.size; i++) out.add(g.next());
            return out;
        }
        SplittableRandom rnd = new SplittableRandom(SEED * 31 + split.stream);
        List<LabItem> out = new ArrayList<>(split.size);
        for (int i = 0; i < split.size; i++) {
            LabTask task = TASKS.get(i % TASKS.size());
            String tag = task.tag();
            if (split.shifted) {
                tag = otherTag(LabTask.Family.STRINGS, task, rnd);
            } else if (split == Split.REFERENCE && rnd.nextInt(4) == 0) {
                tag = UNTAGGED;
            }
            out.add(item(split.fileName().replace(".jsonl", "") + "-" + i, LabTask.Family.STRINGS, task, tag, rnd, MIN_LENGTH, MAX_LENGTH));
        }
        return out;
    }

    /** (task, query) pairs of every evaluation split: the trainer never trains on these queries. */
    public static Set<String> heldOut() {
        Set<String> keys = new HashSet<>();
        for (Split s : Split.values()) {
            if (s != Split.TRAIN) split(s).forEach(it -> keys.add(key(it)));
        }
        return keys;
    }

    /** The (task, query) pair of an item: what held-out evaluation queries are keyed by. */
    static String key(LabItem it) { return it.task().tag() + "|" + query(it.prompt()); }

    private static String query(String prompt) {
        return prompt.substring(prompt.lastIndexOf(',') + 1, prompt.length() - 1);
    }

    /** The endless training stream (60% truthful tags, 20% untagged, 20% misleading); held-out queries skipped. */
    public static Generator training(Set<String> heldOut) {
        return new Generator(new SplittableRandom(SEED * 31), heldOut);
    }

    /** Draws training items; not thread-safe. */
    public static final class Generator {
        private final SplittableRandom rnd;
        private final Set<String> heldOut;
        private long count;

        Generator(SplittableRandom rnd, Set<String> heldOut) {
            this.rnd = rnd;
            this.heldOut = heldOut;
        }

        public LabItem next() {
            while (true) {
                LabTask task = TASKS.get(rnd.nextInt(TASKS.size()));
                int kind = rnd.nextInt(5);
                String tag = kind == 0 ? UNTAGGED : kind == 1 ? otherTag(LabTask.Family.STRINGS, task, rnd) : task.tag();
                LabItem it = item("train-" + count, LabTask.Family.STRINGS, task, tag, rnd, MIN_LENGTH, MAX_LENGTH);
                if (!heldOut.contains(key(it))) {
                    count++;
                    return it;
                }
            }
        }
    }

    /** A uniformly drawn tag of another task of the family. */
    static String otherTag(LabTask.Family family, LabTask task, SplittableRandom rnd) {
        List<LabTask> tasks = family.tasks();
        int other = rnd.nextInt(tasks.size() - 1);
        return tasks.get(other >= family.index(task) ? other + 1 : other).tag();
    }

    /** An item whose demonstrations and query have {@code minLength..maxLength} letters, demonstrations that rule out the family's other tasks. */
    static LabItem item(String id, LabTask.Family family, LabTask task, String tag, SplittableRandom rnd, int minLength, int maxLength) {
        List<String> demos;
        do {
            demos = new ArrayList<>(DEMONSTRATIONS);
            for (int d = 0; d < DEMONSTRATIONS; d++) demos.add(word(rnd, minLength, maxLength));
        } while (!disambiguates(family, task, demos));
        String query = word(rnd, minLength, maxLength);
        StringBuilder p = new StringBuilder(tag).append(':');
        for (String d : demos) p.append(d).append('=').append(task.apply(d)).append(',');
        p.append(query).append('=');
        return new LabItem(id, task, tag, p.toString(), task.apply(query));
    }

    /** True when, for every other task of the family, some demonstration's output differs from this task's. */
    static boolean disambiguates(LabTask.Family family, LabTask task, List<String> demos) {
        Set<LabTask> consistent = EnumSet.noneOf(LabTask.class);
        for (LabTask other : family.tasks()) {
            if (demos.stream().allMatch(d -> other.apply(d).equals(task.apply(d)))) consistent.add(other);
        }
        return consistent.equals(EnumSet.of(task));
    }

    private static String word(SplittableRandom rnd, int minLength, int maxLength) {
        int n = minLength + rnd.nextInt(maxLength - minLength + 1);
        char[] c = new char[n];
        for (int i = 0; i < n; i++) c[i] = (char) ('a' + rnd.nextInt(LabTask.LETTERS));
        return new String(c);
    }

    /** Writes every split as JSONL ({@code id, task, tag, prompt, answer}) into {@code dir}. */
    public static void writeAll(Path dir) {
        for (Split s : Split.values()) writeJsonl(dir.resolve(s.fileName()), split(s));
    }

    /** Writes items as JSONL ({@code id, task, tag, prompt, answer}), creating the folder. */
    static void writeJsonl(Path file, List<LabItem> items) {
        JsonMapper json = JsonMapper.builder().build();
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            try (Writer w = Files.newBufferedWriter(file)) {
                for (LabItem it : items) {
                    ObjectNode n = json.createObjectNode();
                    n.put("id", it.id()).put("task", it.task().id()).put("tag", it.tag())
                            .put("prompt", it.prompt()).put("answer", it.answer());
                    w.write(json.writeValueAsString(n));
                    w.write('\n');
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code LabSuite DIR}: regenerates the committed suite. */
    public static void main(String[] args) throws Exception {
        Cli.run("lab suite-v1", null, () -> {
            writeAll(Path.of(args.length > 0 ? args[0] : "samples/lab/tasks"));
        });
    }
}
