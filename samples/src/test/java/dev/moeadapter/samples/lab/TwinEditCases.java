package dev.moeadapter.samples.lab;

import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The router edits whose llama.cpp results are checked against the PyTorch twin, on one lab item
 * (prompt and gold answer), and the fixture files that hold the twin's outputs: per case, the argmax
 * at every position and the largest {@link #TOP} logits at the last position. The twin runs only
 * under the Maven profile {@code lab}, which rewrites the fixtures; the default build compares the
 * engine against them ({@code TwinEditParityTest}).
 */
final class TwinEditCases {
    static final Path FIXTURES = Path.of("src/test/resources/twin-edits");
    static final Path LAB = Path.of("lab");
    static final String TEXT = "MIR:hgf=fgh,efg=gfe,fdhgab=baghdf";
    static final int TOP = 32;
    static final float PUSH_DOWN = 50f;
    static final float TOP_P = 0.5f;
    /** The models, as paths under {@code samples/lab} without {@code .gguf}: both gating styles of lab versions 1, 2 and 4. */
    static final List<String> MODELS = List.of("models/lab-olmoe", "models/lab-mixtral", "v2/models/lab2-olmoe-seed3",
            "v2/models/lab2-mixtral-seed2", "v4/models/lab4-olmoe-seed1", "v4/models/lab4-mixtral-seed1");

    /** One case: its name and the plan for a model of {@code layers} MoE layers × {@code experts}, {@code experts used}, on {@code length} tokens. */
    record Case(String name, RoutingPlan plan) {
    }

    private TwinEditCases() {
    }

    static List<Case> cases(int layers, int experts, int used, int length) {
        List<Case> out = new ArrayList<>();
        out.add(new Case("none", RoutingPlan.EMPTY));
        Random r = new Random(7);
        List<RouterEdit> delta = new ArrayList<>(), rank = new ArrayList<>(), top = new ArrayList<>(), mask = new ArrayList<>(),
                replace = new ArrayList<>(), replaceOn = new ArrayList<>(), ramp = new ArrayList<>(), weightsTop1 = new ArrayList<>(), steer = new ArrayList<>(),
                topP = new ArrayList<>();
        float[] falling = new float[used];
        for (int j = 0; j < used; j++) {
            falling[j] = 1.5f / (j + 1); // first choice boosted, later ones damped: no renormalisation can undo it
        }
        boolean[] allowed = new boolean[experts];
        for (int e = 0; e < experts; e++) {
            allowed[e] = e % 2 == 0; // half the experts, at least as many as the model selects
        }
        float[] omega = new float[experts];
        for (int e = 0; e < experts; e++) {
            omega[e] = (e + 1f) * 2f / (experts * (experts + 1f)); // a ramp that sums to 1
        }
        for (int l = 0; l < layers; l++) {
            float[] d = new float[experts];
            for (int e = 0; e < experts; e++) {
                d[e] = (float) r.nextGaussian() * 2;
            }
            delta.add(new RouterEdit.AddDelta(l, d, PositionRange.ALL));
            rank.add(new RouterEdit.KeepRank(l, 2, PositionRange.ALL));
            top.add(new RouterEdit.KeepTop(l, used - 1, PositionRange.ALL));
            mask.add(new RouterEdit.ExpertMask(l, allowed, PositionRange.ALL));
            ramp.add(new RouterEdit.ScaleWeights(l, falling, PositionRange.ALL));
            weightsTop1.add(RouterEdit.ScaleWeights.keepTop(l, used, 1, PositionRange.ALL));
            float[] offsets = new float[experts];
            offsets[l % experts] = 0.5f; // promoted: ranks first, next to the token's best expert
            offsets[(l + 1) % experts] = -0.5f; // suppressed: ranks last
            steer.add(new RouterEdit.Steer(l, offsets, PositionRange.ALL));
            topP.add(new RouterEdit.TopP(l, TOP_P, PositionRange.ALL));
            if (l >= layers - 2) {
                replace.add(new RouterEdit.ReplaceDistribution(l, omega, PositionRange.of(length - 1, length)));
                replaceOn.add(new RouterEdit.ReplaceDistribution(l, omega, PositionRange.of(length / 2, length)));
            }
        }
        out.add(new Case("delta", new RoutingPlan(delta)));
        out.add(new Case("rank-2", new RoutingPlan(rank)));
        out.add(new Case("top-" + (used - 1), new RoutingPlan(top)));
        out.add(new Case("mask", new RoutingPlan(mask)));
        out.add(new Case("replace-last", new RoutingPlan(replace)));
        out.add(new Case("replace-from-middle", new RoutingPlan(replaceOn))); // C3PO's injection from a prompt position on
        out.add(new Case("weights-ramp", new RoutingPlan(ramp)));
        out.add(new Case("weights-top-1", new RoutingPlan(weightsTop1)));
        out.add(new Case("steer", new RoutingPlan(steer)));
        out.add(new Case("top-p", new RoutingPlan(topP)));
        if (used == 1) { // on a top-1 model top-(k-1) is no plan, and keeping the top choice's weight or top-p's mass changes nothing
            out.removeIf(c -> List.of("top-0", "weights-top-1", "top-p").contains(c.name()));
        }
        return out;
    }

    /** What the twin gave for one case. */
    record Expected(int[] argmax, int[] topTokens, float[] topLogits) {
    }

    /** A model's GGUF file. */
    static Path model(String model) {
        return LAB.resolve(model + ".gguf");
    }

    /** A model's fixture file. */
    static Path fixture(String model) {
        return FIXTURES.resolve(Path.of(model).getFileName() + ".txt");
    }

    static Expected summarise(float[] logits, int positions, int vocab) {
        int[] argmax = new int[positions];
        for (int p = 0; p < positions; p++) {
            int best = 0;
            for (int v = 1; v < vocab; v++) {
                if (logits[p * vocab + v] > logits[p * vocab + best]) {
                    best = v;
                }
            }
            argmax[p] = best;
        }
        float[] last = Arrays.copyOfRange(logits, (positions - 1) * vocab, positions * vocab);
        Integer[] order = new Integer[vocab];
        for (int v = 0; v < vocab; v++) {
            order[v] = v;
        }
        Arrays.sort(order, (a, b) -> Float.compare(last[b], last[a]));
        int[] tokens = new int[TOP];
        float[] values = new float[TOP];
        for (int i = 0; i < TOP; i++) {
            tokens[i] = order[i];
            values[i] = last[order[i]];
        }
        return new Expected(argmax, tokens, values);
    }

    static void write(Path file, Map<String, Expected> cases) throws IOException {
        StringBuilder sb = new StringBuilder("# written by TwinEditFixtureTest (mvn -Plab): the PyTorch twin's outputs for '" + TEXT + "'\n");
        cases.forEach((name, e) -> {
            sb.append("case ").append(name).append('\n').append("argmax");
            for (int a : e.argmax()) {
                sb.append(' ').append(a);
            }
            sb.append("\ntop");
            for (int i = 0; i < e.topTokens().length; i++) {
                sb.append(' ').append(e.topTokens()[i]).append(':').append(String.format(Locale.ROOT, "%.6f", e.topLogits()[i]));
            }
            sb.append('\n');
        });
        Files.createDirectories(file.getParent());
        Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
    }

    static Map<String, Expected> read(Path file) throws IOException {
        Map<String, Expected> out = new LinkedHashMap<>();
        String name = null;
        int[] argmax = null;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String[] w = line.split(" ");
            switch (w[0]) {
                case "case" -> name = w[1];
                case "argmax" -> argmax = Arrays.stream(w, 1, w.length).mapToInt(Integer::parseInt).toArray();
                case "top" -> {
                    int[] tokens = new int[w.length - 1];
                    float[] values = new float[w.length - 1];
                    for (int i = 1; i < w.length; i++) {
                        String[] tv = w[i].split(":");
                        tokens[i - 1] = Integer.parseInt(tv[0]);
                        values[i - 1] = Float.parseFloat(tv[1]);
                    }
                    out.put(name, new Expected(argmax, tokens, values));
                }
                default -> {
                    // a comment
                }
            }
        }
        return out;
    }
}
