package dev.moeadapter.core.adaptation;

import dev.moeadapter.core.engine.Gating;
import dev.moeadapter.core.engine.LayerRouting;
import dev.moeadapter.core.engine.ModelInfo;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What an adaptation method needs of a model's routing and memory. The one statement of it: the
 * service checks every configured arm against it at startup ({@link AdaptationStrategy#validate}),
 * {@code ./moe doctor} prints its verdicts, and a test holds the README's methods table to it.
 *
 * @param method       the method as refusals name it, e.g. "c3po"
 * @param editsRouting whether it edits router logits or mixing weights: that needs a MoE model whose
 *                     every MoE layer has a router and one of the gating families of {@link #gatings}
 * @param gatings      the gating families it can work with (every family the engine edits, or fewer)
 * @param gatingUse    why fewer families, for the refusal (null when it takes every editable one)
 * @param prefixUse    what it does that needs a sequence cut back to, or sharing, a prefix of its
 *                     positions (null: it only ever empties whole sequences), which only an attention
 *                     memory allows
 * @param prefixSetting the setting that asks for it (null: the method always does)
 */
public record ModelRequirements(String method, boolean editsRouting, Set<Gating> gatings, String gatingUse, String prefixUse,
                                String prefixSetting) {
    /** The families whose router edits the engine defines (README: routing edits per gating family). */
    public static final Set<Gating> EDITABLE = Set.of(Gating.SOFTMAX, Gating.SOFTMAX_WEIGHT, Gating.SIGMOID, Gating.SQRT_SOFTPLUS);

    public ModelRequirements {
        Objects.requireNonNull(method, "method");
        gatings = Set.copyOf(gatings);
        if (!EDITABLE.containsAll(gatings)) {
            throw new IllegalArgumentException("the engine edits only " + EDITABLE + ", not " + gatings);
        }
    }

    /** A method that runs on any model (plain generation). */
    public static ModelRequirements none(String method) {
        return new ModelRequirements(method, false, Set.of(), null, null, null);
    }

    /** A method that edits the routing of every MoE layer, in any family the engine edits. */
    public static ModelRequirements routerEdits(String method) {
        return new ModelRequirements(method, true, EDITABLE, null, null, null);
    }

    /** These requirements, the method working only with {@code families} because {@code use}. */
    public ModelRequirements onlyGating(Set<Gating> families, String use) {
        return new ModelRequirements(method, editsRouting, families, use, prefixUse, prefixSetting);
    }

    /** These requirements, the method also cutting sequences back to a prefix or sharing one ({@code use}). */
    public ModelRequirements rollingBackPrefixes(String use, String setting) {
        return new ModelRequirements(method, editsRouting, gatings, gatingUse, use, setting);
    }

    /** Why the method cannot run on {@code model}, or empty where it can. */
    public Optional<String> refusal(ModelInfo model) {
        return check(model).map(UnsupportedModelException::getMessage);
    }

    /** @throws UnsupportedModelException with the reason, where the method cannot run on {@code model} */
    public void require(ModelInfo model) {
        Optional<UnsupportedModelException> refused = check(model);
        if (refused.isPresent()) {
            throw refused.get();
        }
    }

    private Optional<UnsupportedModelException> check(ModelInfo model) {
        if (editsRouting) {
            if (!model.isMoe()) {
                return refuse(method + " needs a Mixture-of-Experts model; '" + model.architecture() + "' has no MoE layers", null);
            }
            for (LayerRouting r : model.routing()) {
                if (!r.hasRouter()) {
                    return refuse(method + " edits the router of every MoE layer; this model's layer " + r.layer()
                            + " is hash-routed (its experts come from the token id), so it has no router to edit", null);
                }
                if (!EDITABLE.contains(r.gating())) {
                    return refuse(method + " edits router logits, which the engine does for " + names(EDITABLE)
                            + " gating; this model's layer " + r.layer() + " uses " + describe(r), null);
                }
                if (!gatings.contains(r.gating())) {
                    return refuse(method + " needs " + names(gatings) + " gating on every MoE layer (" + gatingUse
                            + "); this model's layer " + r.layer() + " uses " + describe(r), null);
                }
            }
        }
        if (prefixUse != null && !model.memory().rollsBackToAnyPrefix()) {
            return refuse(method + " " + prefixUse + ", which this model's " + model.memory().name().toLowerCase(Locale.ROOT) + " memory ("
                    + model.architecture() + ") cannot do: " + model.memory().wholeOnlyReason() + ", so a sequence can only be "
                    + "emptied or copied whole" + (prefixSetting == null ? "" : "; it is setting '" + prefixSetting + "' that needs this"),
                    prefixSetting);
        }
        return Optional.empty();
    }

    private static Optional<UnsupportedModelException> refuse(String reason, String setting) {
        return Optional.of(new UnsupportedModelException(reason, setting));
    }

    /** A layer's gating family in words, e.g. "sigmoid gating with a selection bias". */
    private static String describe(LayerRouting r) {
        return name(r.gating()) + " gating" + (r.selectionBias() ? " with a selection bias" : "");
    }

    private static String names(Set<Gating> families) {
        return families.stream().sorted().map(ModelRequirements::name).collect(Collectors.joining(", "));
    }

    private static String name(Gating g) {
        return switch (g) {
            case SOFTMAX -> "softmax";
            case SOFTMAX_WEIGHT -> "softmax after top-k";
            case SIGMOID -> "sigmoid";
            case SQRT_SOFTPLUS -> "sqrt-softplus";
            case NONE -> "no";
            case OTHER -> "an unknown";
        };
    }
}
