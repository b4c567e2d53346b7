package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.routing.PositionRange;

/** Where the optimised pathway ω replaces the critical layers' router distribution. */
public enum Injection {
    /** Only at the last prompt token: the answer's own tokens keep their routing. */
    LAST_PROMPT_TOKEN("last"),
    /** From the last prompt token on, every generated token included, as the paper's released code does. */
    FROM_LAST_PROMPT_TOKEN("from-last");

    /** The labels {@link #parse} reads. */
    public static final java.util.List<String> LABELS = java.util.Arrays.stream(values()).map(Injection::label).toList();

    private final String label;

    Injection(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** The positions ω covers for a prompt whose last token sits at {@code last}. */
    public PositionRange positions(int last) {
        return this == LAST_PROMPT_TOKEN ? PositionRange.of(last, last + 1) : PositionRange.from(last);
    }

    /** {@code last} or {@code from-last}, as settings write it. */
    static Injection parse(String label) {
        for (Injection i : values()) {
            if (i.label.equals(label.trim())) {
                return i;
            }
        }
        throw new InvalidRequestException("c3po setting 'inject' must be last or from-last, got '" + label + "'");
    }
}
