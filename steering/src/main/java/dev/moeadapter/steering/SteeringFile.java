package dev.moeadapter.steering;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A steering file: which experts to steer, and how. TSV, UTF-8, lines starting with {@code #}
 * are comments, then a header {@code layer expert action strength} and one line per expert:
 * {@code layer} a MoE layer (model layer index), {@code expert} its expert, {@code action} one of
 * {@code promote}, {@code suppress} (SteerMoE's rule), {@code boost} (RICE: a fixed logit boost
 * times the strength), {@code mask} (MoTE: the expert is switched off); {@code strength} in [0, 1]
 * (the profiler writes the risk difference that chose it). An entry of strength 0 steers nothing,
 * so a file of zeros leaves the model's routing exactly as it is.
 */
public final class SteeringFile {
    static final String HEADER = "layer\texpert\taction\tstrength";

    /** What to do with an expert. */
    public enum Action {
        PROMOTE, SUPPRESS, BOOST, MASK;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One steered expert. */
    public record Entry(int layer, int expert, Action action, double strength) {
        public Entry {
            if (layer < 0 || expert < 0 || !(strength >= 0 && strength <= 1)) {
                throw new IllegalArgumentException("layer and expert must be >= 0 and strength in [0, 1]: " + layer + " " + expert + " " + strength);
            }
        }
    }

    private SteeringFile() {
    }

    public static void write(Path file, String comment, List<Entry> entries) {
        StringBuilder s = new StringBuilder();
        comment.lines().forEach(l -> s.append("# ").append(l).append('\n'));
        s.append(HEADER).append('\n');
        for (Entry e : entries) {
            // the strength as Java prints a double: read back, it is the same number
            s.append(e.layer()).append('\t').append(e.expert()).append('\t').append(e.action().label()).append('\t')
                    .append(e.strength()).append('\n');
        }
        try {
            Files.writeString(file, s, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    public static List<Entry> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return parse(file.getFileName().toString(), lines);
    }

    /** The entries of a steering file's lines; {@code name} prefixes every error. */
    public static List<Entry> parse(String name, List<String> lines) {
        List<Entry> entries = new ArrayList<>();
        boolean header = false;
        for (int n = 1; n <= lines.size(); n++) {
            String line = lines.get(n - 1);
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            if (!header) {
                if (!line.equals(HEADER)) {
                    throw new IllegalArgumentException(name + ":" + n + ": expected the header '" + HEADER.replace('\t', ' ') + "'");
                }
                header = true;
                continue;
            }
            String[] f = line.split("\t", -1);
            try {
                if (f.length != 4) {
                    throw new IllegalArgumentException("expected 4 tab-separated fields, got " + f.length);
                }
                entries.add(new Entry(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Action.valueOf(f[2].toUpperCase(Locale.ROOT)),
                        Double.parseDouble(f[3])));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name + ":" + n + ": " + e.getMessage(), e);
            }
        }
        return entries;
    }
}
