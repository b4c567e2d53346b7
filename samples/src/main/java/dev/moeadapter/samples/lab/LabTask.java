package dev.moeadapter.samples.lab;

import java.util.Arrays;
import java.util.function.UnaryOperator;

/**
 * The lab's string tasks over the letters a–h: each maps a short word to a word, exactly. Each is a
 * "domain" with its own tag, so experts can specialise on it.
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
    });

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

    private static String mapLetters(String s, java.util.function.IntUnaryOperator f) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) b.append((char) ('a' + f.applyAsInt(c - 'a')));
        return b.toString();
    }
}
