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
    TABLE_8("TB8", s -> Tables.apply(7, s));

    /**
     * A suite's eight tasks. {@link #STRINGS}: the lab's first family (versions 1 and 2), four that move
     * letters about (reverse, sort, rotate, swap pairs) and four that map each letter; {@link #CIPHERS}:
     * eight that map each letter (shifts by 1 to 7 and the mirror), so that a task is what a feed-forward
     * expert can compute on each letter, while attention only has to copy the query's letters;
     * {@link #TABLES}: eight random lookup tables, each letter mapped by a permutation chosen by the letter
     * before it (72 entries a task, nothing shared between tasks), so that a task is knowledge to store,
     * as a domain is in a real model, and half the letters of a prompt are predictable from the task alone.
     */
    public enum Family {
        STRINGS(REVERSE, SORT, ROTATE_LEFT, ROTATE_RIGHT, NEXT_LETTER, PREVIOUS_LETTER, MIRROR, SWAP_PAIRS),
        CIPHERS(NEXT_LETTER, SHIFT_2, SHIFT_3, SHIFT_4, SHIFT_5, SHIFT_6, PREVIOUS_LETTER, MIRROR),
        TABLES(TABLE_1, TABLE_2, TABLE_3, TABLE_4, TABLE_5, TABLE_6, TABLE_7, TABLE_8);

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

        /** {@code strings}, {@code ciphers} or {@code tables}. */
        public String flag() { return name().toLowerCase(java.util.Locale.ROOT); }

        public static Family named(String name) {
            return java.util.Arrays.stream(values()).filter(f -> f.flag().equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("task family must be strings, ciphers or tables, not " + name));
        }
    }

    /** Size of the alphabet a..h. */
    public static final int LETTERS = 8;

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

    private static String shift(String s, int by) {
        return mapLetters(s, i -> (i + by) % LETTERS);
    }

    private static String mapLetters(String s, java.util.function.IntUnaryOperator f) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) b.append((char) ('a' + f.applyAsInt(c - 'a')));
        return b.toString();
    }
}
