package dev.moeadapter.steering;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.ModelRequirements;
import dev.moeadapter.core.adaptation.SettingsSchema;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.engine.LayerRouting;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.core.engine.DecodeLane;
import dev.moeadapter.core.generation.CancellationToken;
import dev.moeadapter.core.generation.GenerationRequest;
import dev.moeadapter.core.generation.GenerationResult;
import dev.moeadapter.core.generation.Generator;
import dev.moeadapter.core.generation.TokenListener;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RoutingPlan;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Steering: named experts promoted or suppressed by SteerMoE's rule, boosted by a fixed logit
 * (RICE) or switched off (MoTE), and optionally a dynamic expert count (top-p over the selected
 * experts), on every token of the prompt and the answer. All of it is one routing plan on the
 * answer's sequence, so it costs what plain generation costs; a plan that edits nothing decodes
 * bit for bit as plain generation.
 */
public final class SteerStrategy implements AdaptationStrategy {
    /** Every edit it makes (steer, delta, mask, top-p) means the same in every gating family; hash-routed layers have no router. */
    public static final ModelRequirements REQUIREMENTS = ModelRequirements.routerEdits("steer");
    /** The largest steering file read, so that a file cannot exhaust memory. */
    private static final long MAX_FILE_BYTES = 8L << 20;

    private final SteeringSettings settings;
    private final Path directory;

    /**
     * @param directory where steering files named by the {@code file} setting are read from; null
     *                  when the host has none (the setting is then refused)
     */
    public SteerStrategy(SteeringSettings settings, Path directory) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.directory = directory;
    }

    public SteeringSettings settings() {
        return settings;
    }

    @Override
    public String name() {
        return "steer";
    }

    @Override
    public int sequencesNeeded() {
        return 1;
    }

    @Override
    public ModelRequirements requirements() {
        return REQUIREMENTS;
    }

    /**
     * {@code file} (a steering file's name in the steering directory; its entries replace any
     * earlier file's), {@code promote}, {@code suppress}, {@code boost}, {@code mask} (experts as
     * {@code layer:expert} pairs separated by commas or spaces, strength 1, added to the file's),
     * {@code epsilon}, {@code boost-by}, {@code top-p}.
     */
    @Override
    public SteerStrategy withSettings(StrategySettings s) {
        SettingsSchema.Values v = SteeringSettings.SCHEMA.parse(s);
        if (v.isEmpty()) {
            return this;
        }
        List<SteeringFile.Entry> entries = new ArrayList<>(settings.entries());
        String file = v.text("file", "");
        if (!file.isEmpty()) {
            entries = new ArrayList<>(readFile(file));
        }
        for (SteeringFile.Action a : SteeringFile.Action.values()) {
            entries.addAll(parseList(a, v.text(a.label(), "")));
        }
        return new SteerStrategy(new SteeringSettings(entries, (float) v.number("epsilon", settings.epsilon()),
                (float) v.number("boost-by", settings.boost()), (float) v.number("top-p", settings.topP())), directory);
    }

    private List<SteeringFile.Entry> readFile(String name) {
        if (directory == null) {
            throw new InvalidRequestException("steer setting 'file': no steering directory is configured (moe.adapter.steering-directory)");
        }
        Path path = directory.resolve(name);
        try {
            if (!Files.isRegularFile(path) || Files.size(path) > MAX_FILE_BYTES) {
                throw new InvalidRequestException("steer setting 'file': no steering file '" + name + "' of at most " + MAX_FILE_BYTES + " bytes in the steering directory");
            }
            return SteeringFile.read(path);
        } catch (IOException | UncheckedIOException e) {
            throw new InvalidRequestException("steer setting 'file': cannot read '" + name + "'");
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("steer setting 'file': " + e.getMessage());
        }
    }

    /** A list the schema accepted: {@code layer:expert} pairs, strength 1. */
    private static List<SteeringFile.Entry> parseList(SteeringFile.Action action, String list) {
        List<SteeringFile.Entry> entries = new ArrayList<>();
        for (String pair : list.trim().split("\\s*[,\\s]\\s*")) {
            if (!pair.isEmpty()) {
                int colon = pair.indexOf(':');
                entries.add(new SteeringFile.Entry(Integer.parseInt(pair.substring(0, colon)), Integer.parseInt(pair.substring(colon + 1)), action, 1));
            }
        }
        return entries;
    }

    @Override
    public void validate(ModelInfo model) {
        AdaptationStrategy.super.validate(model);
        plan(model).validate(model);
    }

    /** The routing plan these settings make on {@code model}: empty when they edit nothing. */
    public RoutingPlan plan(ModelInfo model) {
        Map<Integer, float[]> steer = new TreeMap<>(), boost = new TreeMap<>();
        Map<Integer, List<Integer>> masked = new TreeMap<>();
        int n = model.experts();
        for (SteeringFile.Entry e : settings.entries()) {
            if (e.strength() == 0) {
                continue;
            }
            if (e.expert() >= n) { // the layer is the edits' to check (RouterEdit.validate)
                throw new InvalidRequestException("steer: expert " + e.expert() + " out of range 0.." + (n - 1));
            }
            float strength = (float) e.strength();
            switch (e.action()) {
                case PROMOTE -> steer.computeIfAbsent(e.layer(), l -> new float[n])[e.expert()] = settings.epsilon() * strength;
                case SUPPRESS -> steer.computeIfAbsent(e.layer(), l -> new float[n])[e.expert()] = -settings.epsilon() * strength;
                case BOOST -> boost.computeIfAbsent(e.layer(), l -> new float[n])[e.expert()] = settings.boost() * strength;
                case MASK -> masked.computeIfAbsent(e.layer(), l -> new ArrayList<>()).add(e.expert());
            }
        }
        List<RouterEdit> edits = new ArrayList<>();
        // a boost shifts the scores the rule reads; the mask then has the last word on selection
        boost.forEach((l, d) -> edits.add(new RouterEdit.AddDelta(l, d, PositionRange.ALL)));
        steer.forEach((l, o) -> edits.add(new RouterEdit.Steer(l, o, PositionRange.ALL)));
        masked.forEach((l, x) -> edits.add(RouterEdit.ExpertMask.deny(l, n, PositionRange.ALL, x.stream().mapToInt(Integer::intValue).toArray())));
        if (settings.topP() < 1) {
            model.routing().stream().filter(LayerRouting::hasRouter)
                    .forEach(r -> edits.add(new RouterEdit.TopP(r.layer(), settings.topP(), PositionRange.ALL)));
        }
        return new RoutingPlan(edits);
    }

    @Override
    public GenerationResult generate(DecodeLane session, GenerationRequest request, TokenListener listener, CancellationToken cancel) {
        session.setPlan(0, plan(session.model().info()));
        return new Generator(session, 0).generate(request, listener, cancel);
    }
}
