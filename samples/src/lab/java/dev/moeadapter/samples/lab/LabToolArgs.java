package dev.moeadapter.samples.lab;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The command line of the lab's diagnostic tools ({@code ./moe lab oracle|rerouting|steps|gradient}): positional
 * arguments, switches ({@code --context}), and {@code --tasks FAMILY}, the task family whose lab split the
 * split name means (strings, lab v2's, by default; tables for lab v3).
 */
record LabToolArgs(List<String> positional, List<String> switches, LabTask.Family family) {

    static LabToolArgs parse(String... argv) {
        List<String> positional = new ArrayList<>(), switches = new ArrayList<>();
        LabTask.Family family = LabTask.Family.STRINGS;
        for (int i = 0; i < argv.length; i++) {
            if (argv[i].equals("--tasks")) {
                if (i + 1 >= argv.length) throw new IllegalArgumentException("--tasks needs a family: strings, ciphers, tables or chains");
                family = LabTask.Family.named(argv[++i]);
            } else if (argv[i].startsWith("--")) {
                switches.add(argv[i]);
            } else {
                positional.add(argv[i]);
            }
        }
        return new LabToolArgs(List.copyOf(positional), List.copyOf(switches), family);
    }

    boolean has(String flag) {
        return switches.contains(flag);
    }

    /** Positional argument {@code i}, which the command needs: {@code what} names it where it is missing. */
    String required(int i, String what) {
        if (i >= positional.size()) throw new IllegalArgumentException("missing argument " + (i + 1) + ": " + what);
        return positional.get(i);
    }

    /** Positional argument {@code i}, or {@code fallback} where the command line stops before it. */
    String at(int i, String fallback) {
        return i < positional.size() ? positional.get(i) : fallback;
    }

    /** The split {@code name} of this family: a lab v2 split name, or a version-1 one (strings only). */
    List<LabItem> split(String name) {
        return LabSuiteV2.Split.all(family).stream().filter(s -> s.name().equals(name)).findFirst().map(s -> LabSuiteV2.split(family, s))
                .orElseGet(() -> LabSuite.split(v1Split(name)));
    }

    /** The first items of the split named by positional argument 1, as many as argument 2 says ({@code limit} without it). */
    List<LabItem> items(String limit) {
        List<LabItem> all = split(required(1, "SPLIT"));
        return all.subList(0, Math.min(all.size(), Integer.parseInt(at(2, limit))));
    }

    /** A version-1 split, or a refusal naming the splits there are. */
    private LabSuite.Split v1Split(String name) {
        try {
            return LabSuite.Split.valueOf(name.toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("no split '" + name + "' in the " + family.name().toLowerCase(Locale.ROOT) + " family: "
                    + LabSuiteV2.Split.all(family).stream().map(LabSuiteV2.Split::name).toList() + " (--tasks F chooses the family)");
        }
    }
}
