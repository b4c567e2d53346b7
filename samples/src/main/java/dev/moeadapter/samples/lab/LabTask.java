package dev.moeadapter.samples.lab;

import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The lab's string tasks over the letters a–h: each maps a short word to a word, exactly. Each is a
 * "domain" with its own tag, so experts can specialise on it. Tasks come in {@link Family families}
 * of eight: a suite draws from one.
 */
public enum LabTask {
    REVERSE("REV", s -> new StringBuilder(s).reverse().toString()),
    SORT("SRT", s -> {
        char[] c = s.toCharArray();
        Arrays.sort(c);
        return new String(c);
    }),
    ROTATE_LEFT("ROL", s -> s.substring(1) + s.charAt(0)),
    ROTATE_RIGHT("ROR", s -> s.charAt(s.length() - 1) + s.substring(0, s.length() - 1)),
    NEXT_LETTER("NXT", s -> mapLetters(s, i -> (i + 1) % LabTask.LETTERS)),
    PREVIOUS_LETTER("PRV", s -> mapLetters(s, i -> (i + LabTask.LETTERS - 1) % LabTask.LETTERS)),
    MIRROR("MIR", s -> mapLetters(s, i -> LabTask.LETTERS - 1 - i)),
    SWAP_PAIRS("SWP", s -> {
        char[] c = s.toCharArray();
        for (int i = 0; i + 1 < c.length; i += 2) {
            char t = c[i];
            c[i] = c[i + 1];
            c[i + 1] = t;
        }
        return new String(c);
    }),
    SHIFT_2("SH2", s -> shift(s, 2)),
    SHIFT_3("SH3", s -> shift(s, 3)),
    SHIFT_4("SH4", s -> shift(s, 4)),
    SHIFT_5("SH5", s -> shift(s, 5)),
    SHIFT_6("SH6", s -> shift(s, 6)),
    TABLE_1("TB1", s -> Tables.apply(0, s)),
    TABLE_2("TB2", s -> Tables.apply(1, s)),
    TABLE_3("TB3", s -> Tables.apply(2, s)),
    TABLE_4("TB4", s -> Tables.apply(3, s)),
    TABLE_5("TB5", s -> Tables.apply(4, s)),
    TABLE_6("TB6", s -> Tables.apply(5, s)),
    TABLE_7("TB7", s -> Tables.apply(6, s)),
    TABLE_8("TB8", s -> Tables.apply(7, s)),
    CHAIN_1("CH1", s -> Chains.apply(0, s)),
    CHAIN_2("CH2", s -> Chains.apply(1, s)),
    CHAIN_3("CH3", s -> Chains.apply(2, s)),
    CHAIN_4("CH4", s -> Chains.apply(3, s)),
    CHAIN_5("CH5", s -> Chains.apply(4, s)),
    CHAIN_6("CH6", s -> Chains.apply(5, s)),
    CHAIN_7("CH7", s -> Chains.apply(6, s)),
    CHAIN_8("CH8", s -> Chains.apply(7, s));

    /**
     * A suite's eight tasks. {@link #STRINGS}: the lab's first family (versions 1 and 2), four that move
     * letters about (reverse, sort, rotate, swap pairs) and four that map each letter; {@link #CIPHERS}:
     * eight that map each letter (shifts by 1 to 7 and the mirror), so that a task is what a feed-forward
     * expert can compute on each letter, while attention only has to copy the query's letters;
     * {@link #TABLES}: eight random lookup tables, each letter mapped by a permutation chosen by the letter
     * before it (72 entries a task, nothing shared between tasks), so that a task is knowledge to store,
     * as a domain is in a real model, and half the letters of a prompt are predictable from the task alone;
     * {@link #CHAINS}: eight random lookup tables chained through the answer, each letter mapped by a
     * permutation chosen by the <em>output</em> letter before it, so that an answer letter can only be looked
     * up where the answer is written (the letter before it is not in the prompt), and each task has
     * {@value LabTask#ALIASES} aliases, other names for its tag that training sees rarely.
     */
    public enum Family {
        STRINGS(REVERSE, SORT, ROTATE_LEFT, ROTATE_RIGHT, NEXT_LETTER, PREVIOUS_LETTER, MIRROR, SWAP_PAIRS),
        CIPHERS(NEXT_LETTER, SHIFT_2, SHIFT_3, SHIFT_4, SHIFT_5, SHIFT_6, PREVIOUS_LETTER, MIRROR),
        TABLES(TABLE_1, TABLE_2, TABLE_3, TABLE_4, TABLE_5, TABLE_6, TABLE_7, TABLE_8),
        CHAINS(CHAIN_1, CHAIN_2, CHAIN_3, CHAIN_4, CHAIN_5, CHAIN_6, CHAIN_7, CHAIN_8);

        private final List<LabTask> tasks;

        Family(LabTask... tasks) { this.tasks = List.of(tasks); }

        public List<LabTask> tasks() { return tasks; }

        /** The task's place in this family (its expert group in training). */
        public int index(LabTask task) {
            int i = tasks.indexOf(task);
            if (i < 0) throw new IllegalArgumentException(task + " is not in " + this);
            return i;
        }

        /** The first family that holds every one of {@code tasks}. */
        public static Family holding(java.util.Collection<LabTask> tasks) {
            return java.util.Arrays.stream(values()).filter(f -> f.tasks.containsAll(tasks)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no task family holds all of " + tasks));
        }

        /** Whether its tasks have {@linkplain LabTask#alias aliases} (and its suite an {@code alias-} shift). */
        public boolean hasAliases() { return this == CHAINS; }

        /** {@code strings}, {@code ciphers}, {@code tables} or {@code chains}. */
        public String flag() { return name().toLowerCase(java.util.Locale.ROOT); }

        public static Family named(String name) {
            return java.util.Arrays.stream(values()).filter(f -> f.flag().equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("task family must be strings, ciphers, tables or chains, not " + name));
        }
    }

    /** Size of the alphabet a..h. */
    public static final int LETTERS = 8;

    /** Aliases per task of the {@link Family#CHAINS} family, alias i drawn in training {@value #ALIAS_RATIO}× as often as alias i+1. */
    public static final int ALIASES = 4, ALIAS_RATIO = 4;

    private final String tag;
    private final UnaryOperator<String> function;

    LabTask(String tag, UnaryOperator<String> function) {
        this.tag = tag;
        this.function = function;
    }

    /** The tag written before the demonstrations, e.g. {@code REV}. */
    public String tag() { return tag; }

    /** Short lower-case name used in benchmark files ({@code task} field). */
    public String id() { return tag.toLowerCase(java.util.Locale.ROOT); }

    public String apply(String word) { return function.apply(word); }

    /**
     * The task's alias {@code i} (0 ≤ i < {@value #ALIASES}): three capital letters that name it instead of its
     * tag, distinct across the family and sharing no letter with any tag of it. Only the chain family has them.
     */
    public String alias(int i) {
        int t = Family.CHAINS.tasks.indexOf(this);
        if (t < 0) throw new IllegalStateException(this + " has no aliases");
        return Aliases.NAMES[t][i];
    }

    /** The index of the alias a training item of this family draws from {@code u} uniform in [0, 1): alias i is {@value #ALIAS_RATIO}× as likely as i+1. */
    public static int aliasIndex(double u) {
        double total = 0, w = 1;
        for (int i = 0; i < ALIASES; i++, w /= ALIAS_RATIO) total += w;
        double at = u * total;
        w = 1;
        for (int i = 0; i < ALIASES - 1; i++, w /= ALIAS_RATIO) {
            if (at < w) return i;
            at -= w;
        }
        return ALIASES - 1;
    }

    /** The chain family's aliases, drawn once from a fixed seed: capital letters other than those of its tags. */
    private static final class Aliases {
        private static final String[][] NAMES = draw(new java.util.SplittableRandom(20261203L));

        private static String[][] draw(java.util.SplittableRandom rnd) {
            String letters = "ABDEFGIJKLMNOPQRSTUVWXYZ"; // no C or H: the chain tags are CH1..CH8
            java.util.Set<String> seen = new java.util.HashSet<>();
            String[][] out = new String[8][ALIASES];
            for (String[] task : out) {
                for (int i = 0; i < ALIASES; i++) {
                    String a;
                    do {
                        a = "" + letters.charAt(rnd.nextInt(letters.length())) + letters.charAt(rnd.nextInt(letters.length()))
                                + letters.charAt(rnd.nextInt(letters.length()));
                    } while (!seen.add(a));
                    task[i] = a;
                }
            }
            return out;
        }
    }

    /**
     * The table family's lookups: task k maps the letter at i by permutation {@code MAPS[k][c]}, c being the
     * letter before it ({@value #LETTERS} for the first letter), drawn once from a fixed seed.
     */
    private static final class Tables {
        private static final int[][][] MAPS = draw(new java.util.SplittableRandom(20261202L));

        private static int[][][] draw(java.util.SplittableRandom rnd) {
            int[][][] maps = new int[8][LETTERS + 1][LETTERS];
            for (int[][] task : maps) {
                for (int[] perm : task) {
                    for (int i = 0; i < LETTERS; i++) perm[i] = i;
                    for (int i = LETTERS - 1; i > 0; i--) {
                        int j = rnd.nextInt(i + 1), t = perm[i];
                        perm[i] = perm[j];
                        perm[j] = t;
                    }
                }
            }
            return maps;
        }

        static String apply(int task, String s) {
            StringBuilder b = new StringBuilder(s.length());
            int before = LETTERS;
            for (char c : s.toCharArray()) {
                b.append((char) ('a' + MAPS[task][before][c - 'a']));
                before = c - 'a';
            }
            return b.toString();
        }
    }

    /**
     * The chain family's lookups: task k maps the letter at i by permutation {@code MAPS[k][c]}, c being the
     * <em>output</em> letter before it ({@value #LETTERS} for the first letter), drawn once from a fixed seed.
     */
    private static final class Chains {
        private static final int[][][] MAPS = Tables.draw(new java.util.SplittableRandom(20261203L));

        static String apply(int task, String s) {
            StringBuilder b = new StringBuilder(s.length());
            int before = LETTERS;
            for (char c : s.toCharArray()) {
                int out = MAPS[task][before][c - 'a'];
                b.append((char) ('a' + out));
                before = out;
            }
            return b.toString();
        }
    }

    private static String shift(String s, int by) {
        return mapLetters(s, i -> (i + by) % LETTERS);
    }

    private static String mapLetters(String s, java.util.function.IntUnaryOperator f) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) b.append((char) ('a' + f.applyAsInt(c - 'a')));
        return b.toString();
    }
}
