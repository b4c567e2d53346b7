package dev.moeadapter.serving.experiment;

/** A closed interval [low, high]. */
public record Interval(double low, double high) {
    public boolean contains(double x) {
        return low <= x && x <= high;
    }
}
