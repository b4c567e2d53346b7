package dev.moeadapter.samples.lab;

import dev.moeadapter.samples.cli.Cli;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The lab task suite, version 2: the same eight string tasks and item format as {@link LabSuite}
 * ({@code TAG:x=y,x=y,q=} → answer), drawn so that a model trained on it like a real language model
 * (next-token loss on every token, no forced routing) leaves room for a method to help, with three
 * shifts registered before any method ran on them.
 *
 * <p>Training distribution: words of {@value #MIN_LENGTH}–{@value #MAX_LENGTH} letters; 50% of items
 * carry their task's own tag, 40% no tag ({@value LabSuite#UNTAGGED}: only the demonstrations tell),
 * 10% another task's tag while demonstrations and answer follow the true task (a misleading
 * instruction is rare, and the model is supervised toward the demonstrations).
 *
 * <p>In distribution ({@link Shift#NONE}) means drawn like training: each task's 50 items of a split
 * are 25 with their own tag, 20 untagged and 5 misleading, so the in-distribution splits hold the hard
 * kinds in their training shares, as a real model's in-distribution data does. (Tagged-only splits
 * measured the easy skill only: a model learns to follow the tag long before it reads the
 * demonstrations, so they reached 92% before either shift left the floor.)
 *
 * <p>Shifts, each with its own {@code ref}, {@code dev} and {@code test} splits:
 * <ul>
 *   <li>{@link Shift#UNTAGGED}: no instruction, only the demonstrations (a minority of training);</li>
 *   <li>{@link Shift#MISLEADING}: another task's tag (rare in training);</li>
 *   <li>{@link Shift#LONG}: the task's own tag, words of {@value #LONG_MIN}–{@value #LONG_MAX}
 *       letters (longer than any trained).</li>
 * </ul>
 * In distribution there are {@code ref}, {@code dev} and {@code test} splits too, and {@code train}:
 * items drawn like training batches, for reference.
 *
 * <p>Evaluation splits are balanced (50 items per task in each split of 400), drawn from their own
 * random streams, and their (task, query) pairs never occur as training queries. Training batches
 * are a pure function of (training seed, step), so an interrupted training resumes on the same data.
 */
public final class LabSuiteV2 {

    public static final long SEED = 20261129L;
    public static final int MIN_LENGTH = 3, MAX_LENGTH = 7, LONG_MIN = 8, LONG_MAX = 10;
    public static final int SPLIT_SIZE = 400, TRAIN_FILE_SIZE = 5000;
    /** Training mix in percent: own tag, no tag, misleading tag. */
    public static final int TAGGED_PERCENT = 50, UNTAGGED_PERCENT = 40;

    /** How an evaluation split differs from the training distribution. */
    public enum Shift {
        NONE(""), UNTAGGED("untagged-"), MISLEADING("misleading-"), LONG("long-"),
        /** One of the task's aliases instead of its tag, every alias equally often (the chain family only). */
        ALIAS("alias-");

        private final String prefix;

        Shift(String prefix) { this.prefix = prefix; }

        /** Name prefix of this shift's splits ({@code ""} in distribution). */
        public String prefix() { return prefix; }
    }

    /** The three evaluation parts of each shift: C3PO's labelled reference set, tuning, reporting. */
    public enum Part { REF, DEV, TEST }

    /** One evaluation split: a shift and a part, e.g. {@code misleading-dev}. */
    public record Split(Shift shift, Part part) {
        public String name() { return shift.prefix() + part.name().toLowerCase(Locale.ROOT); }

        public String fileName() { return name() + ".jsonl"; }

        /** Every evaluation split of a family without aliases, in a fixed order. */
        public static List<Split> all() {
            return all(LabTask.Family.STRINGS);
        }

        /** Every evaluation split of a family's suite, in a fixed order: the {@code alias-} ones where its tasks have aliases. */
        public static List<Split> all(LabTask.Family family) {
            return every().stream().filter(s -> s.shift() != Shift.ALIAS || family.hasAliases()).toList();
        }

        /** The split named like {@code misleading-dev}, of any family. */
        public static Split named(String name) {
            return every().stream().filter(s -> s.name().equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no lab v2 split '" + name + "'; splits: "
                            + every().stream().map(Split::name).toList()));
        }

        /** Every shift's splits, in a fixed order. */
        private static List<Split> every() {
            List<Split> out = new ArrayList<>();
            for (Shift s : Shift.values()) for (Part p : Part.values()) out.add(new Split(s, p));
            return out;
        }

        private int stream() { return 1 + shift.ordinal() * Part.values().length + part.ordinal(); }
    }

    private LabSuiteV2() {}

    /** The items of an evaluation split of the lab's first task family. */
    public static List<LabItem> split(Split split) {
        return split(LabTask.Family.STRINGS, split);
    }

    /** The items of an evaluation split: balanced over the family's tasks, drawn from the split's own stream. */
    public static List<LabItem> split(LabTask.Family family, Split split) {
        SplittableRandom rnd = new SplittableRandom(SEED * 31 + split.stream());
        // the in-distribution kind and misleading tag come from a stream of their own, so the words (and the
        // held-out queries that training skips) are those of the tagged-only suite that preceded this mix
        SplittableRandom mix = new SplittableRandom(SEED * 37 + split.stream());
        List<LabItem> out = new ArrayList<>(SPLIT_SIZE);
        for (int i = 0; i < SPLIT_SIZE; i++) {
            out.add(draw(family, split, i, rnd, mix));
        }
        return out;
    }

    /** Item {@code i} of a split: its task in turn, its tag by the split's shift, its words from {@code rnd}. */
    private static LabItem draw(LabTask.Family family, Split split, int i, SplittableRandom rnd, SplittableRandom mix) {
        List<LabTask> tasks = family.tasks();
        LabTask task = tasks.get(i % tasks.size());
        String tag = switch (split.shift()) {
            case NONE -> inDistributionTag(family, task, i / tasks.size(), mix);
            case LONG -> task.tag();
            case UNTAGGED -> LabSuite.UNTAGGED;
            case MISLEADING -> LabSuite.otherTag(family, task, rnd);
            case ALIAS -> task.alias(i / tasks.size() % LabTask.ALIASES);
        };
        boolean long_ = split.shift() == Shift.LONG;
        return LabSuite.item(split.name() + "-" + i, family, task, tag, rnd, long_ ? LONG_MIN : MIN_LENGTH, long_ ? LONG_MAX : MAX_LENGTH);
    }

    /** The tag of a task's {@code k}-th in-distribution item: the training mix, exactly, in every block of 10 items. */
    private static String inDistributionTag(LabTask.Family family, LabTask task, int k, SplittableRandom mix) {
        int percent = (k % 10) * 10;
        return percent < TAGGED_PERCENT ? task.tag()
                : percent < TAGGED_PERCENT + UNTAGGED_PERCENT ? LabSuite.UNTAGGED : LabSuite.otherTag(family, task, mix);
    }

    /** (task, query) pairs of every evaluation split of the first family: training never uses these queries. */
    public static Set<String> heldOut() {
        return heldOut(LabTask.Family.STRINGS);
    }

    /** (task, query) pairs of every evaluation split of a family's suite. */
    public static Set<String> heldOut(LabTask.Family family) {
        Set<String> keys = new HashSet<>();
        for (Split s : Split.all(family)) split(family, s).forEach(it -> keys.add(LabSuite.key(it)));
        return keys;
    }

    /** The training items of one step, in the registered mix: a pure function of (seed, step); held-out queries skipped. */
    public static List<LabItem> trainingBatch(long seed, long step, int size, Set<String> heldOut) {
        return trainingBatch(LabTask.Family.STRINGS, seed, step, size, heldOut, UNTAGGED_PERCENT, 100 - TAGGED_PERCENT - UNTAGGED_PERCENT);
    }

    /** As {@link #trainingBatch(long, long, int, Set)} for a family, with another share (percent) of untagged and misleading items. */
    public static List<LabItem> trainingBatch(LabTask.Family family, long seed, long step, int size, Set<String> heldOut,
                                              int untaggedPercent, int misleadingPercent) {
        return trainingBatch(family, seed, step, size, heldOut, untaggedPercent, misleadingPercent, 0);
    }

    /**
     * As {@link #trainingBatch(long, long, int, Set)} for a family, with other shares (percent) of untagged, misleading
     * and aliased items (an alias instead of the tag: alias i {@value LabTask#ALIAS_RATIO}× as often as alias i+1).
     */
    public static List<LabItem> trainingBatch(LabTask.Family family, long seed, long step, int size, Set<String> heldOut,
                                              int untaggedPercent, int misleadingPercent, int aliasPercent) {
        if (untaggedPercent < 0 || misleadingPercent < 0 || aliasPercent < 0 || untaggedPercent + misleadingPercent + aliasPercent > 100) {
            throw new IllegalArgumentException("untagged, misleading and alias shares must be percentages summing to at most 100");
        }
        if (aliasPercent > 0 && !family.hasAliases()) throw new IllegalArgumentException("the " + family.flag() + " family has no aliases");
        int tagged = 100 - untaggedPercent - misleadingPercent - aliasPercent;
        SplittableRandom rnd = new SplittableRandom(SEED * 31 + seed * 1_000_003L + step * 7_919L);
        List<LabItem> out = new ArrayList<>(size);
        while (out.size() < size) {
            LabTask task = family.tasks().get(rnd.nextInt(family.tasks().size()));
            int kind = rnd.nextInt(100);
            String tag = kind < tagged ? task.tag()
                    : kind < tagged + untaggedPercent ? LabSuite.UNTAGGED
                    : kind < tagged + untaggedPercent + misleadingPercent ? LabSuite.otherTag(family, task, rnd)
                    : task.alias(LabTask.aliasIndex(rnd.nextDouble()));
            LabItem it = LabSuite.item("train-" + step + "-" + out.size(), family, task, tag, rnd, MIN_LENGTH, MAX_LENGTH);
            if (!heldOut.contains(LabSuite.key(it))) out.add(it);
        }
        return out;
    }

    /** The {@code train} file: {@value #TRAIN_FILE_SIZE} items of the training distribution (seed 1, batches of 100). */
    public static List<LabItem> trainFile(LabTask.Family family, Set<String> heldOut) {
        List<LabItem> out = new ArrayList<>(TRAIN_FILE_SIZE);
        for (int step = 1; out.size() < TRAIN_FILE_SIZE; step++) {
            out.addAll(trainingBatch(family, 1, step, 100, heldOut, UNTAGGED_PERCENT, 100 - TAGGED_PERCENT - UNTAGGED_PERCENT));
        }
        return out;
    }

    /**
     * A {@code ref} split of {@code size} items: the committed split's {@value #SPLIT_SIZE}, then more drawn as it draws
     * them from a stream of their own, skipping every (task, query) of the family's dev and test splits. For measuring
     * how C3PO's neighbours change with the reference set's size; the models were trained without the committed
     * splits' queries only, so the items past the first {@value #SPLIT_SIZE} may repeat training queries.
     */
    public static List<LabItem> largerReference(LabTask.Family family, Split split, int size) {
        if (split.part() != Part.REF) throw new IllegalArgumentException(split.name() + " is not a ref split");
        if (size < SPLIT_SIZE || size > 100_000) {
            throw new IllegalArgumentException("--ref-size must be " + SPLIT_SIZE + " to 100000, got " + size);
        }
        Set<String> evaluated = new HashSet<>();
        for (Split s : Split.all(family)) {
            if (s.part() != Part.REF) split(family, s).forEach(it -> evaluated.add(LabSuite.key(it)));
        }
        List<LabItem> out = new ArrayList<>(split(family, split));
        SplittableRandom rnd = new SplittableRandom(SEED * 41 + split.stream());
        SplittableRandom mix = new SplittableRandom(SEED * 43 + split.stream());
        for (int i = SPLIT_SIZE; out.size() < size; i++) {
            LabItem it = draw(family, split, i, rnd, mix);
            if (!evaluated.contains(LabSuite.key(it))) out.add(it);
        }
        return out;
    }

    /** Writes {@code train.jsonl} and every evaluation split of a family's suite into {@code dir}, each {@code ref} split of {@code refSize} items. */
    public static void writeAll(LabTask.Family family, Path dir, int refSize) {
        LabSuite.writeJsonl(dir.resolve("train.jsonl"), trainFile(family, heldOut(family)));
        for (Split s : Split.all(family)) {
            LabSuite.writeJsonl(dir.resolve(s.fileName()),
                    s.part() == Part.REF && refSize != SPLIT_SIZE ? largerReference(family, s, refSize) : split(family, s));
        }
    }

    /** Writes {@code train.jsonl} and every evaluation split of a family's suite into {@code dir}. */
    public static void writeAll(LabTask.Family family, Path dir) {
        writeAll(family, dir, SPLIT_SIZE);
    }

    /**
     * {@code LabSuiteV2 [DIR] [strings|ciphers|tables|chains] [--ref-size N]}: regenerates the committed suite (the first
     * family's by default); with {@code --ref-size}, its {@code ref} splits hold N items (see {@link #largerReference}).
     */
    public static void main(String[] args) throws Exception {
        Cli.run("lab suite", null, () -> {
            List<String> positional = new ArrayList<>(List.of(args));
            int refSize = SPLIT_SIZE;
            int flag = positional.indexOf("--ref-size");
            if (flag >= 0) {
                if (flag + 1 >= positional.size()) throw new IllegalArgumentException("--ref-size needs a number");
                refSize = Integer.parseInt(positional.get(flag + 1));
                positional.subList(flag, flag + 2).clear();
            }
            if (positional.size() > 2) throw new IllegalArgumentException("unexpected arguments " + positional.subList(2, positional.size()));
            writeAll(positional.size() > 1 ? LabTask.Family.named(positional.get(1)) : LabTask.Family.STRINGS,
                    Path.of(positional.isEmpty() ? "samples/lab/v2/tasks" : positional.get(0)), refSize);
        });
    }
}
