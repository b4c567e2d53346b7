package dev.moeadapter.core.routing;

import dev.moeadapter.core.InvalidRequestException;

/** Token positions [from, to) of a sequence that an edit or trace applies to. */
public record PositionRange(int from, int to) {
    public static final PositionRange ALL = new PositionRange(0, Integer.MAX_VALUE);
    public static final PositionRange NONE = new PositionRange(0, 0);

    public PositionRange {
        if (from < 0 || to < from) {
            throw new InvalidRequestException("invalid position range [" + from + ", " + to + ")");
        }
    }

    public static PositionRange of(int from, int to) {
        return new PositionRange(from, to);
    }

    /** Every position from {@code from} on. */
    public static PositionRange from(int from) {
        return new PositionRange(from, Integer.MAX_VALUE);
    }

    public static PositionRange at(int position) {
        return new PositionRange(position, position + 1);
    }

    public boolean contains(int position) {
        return position >= from && position < to;
    }

    public boolean isEmpty() {
        return to == from;
    }
}
