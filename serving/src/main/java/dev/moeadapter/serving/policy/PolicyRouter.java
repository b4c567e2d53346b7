package dev.moeadapter.serving.policy;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.MoeAdapterException;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.adaptation.UnsupportedModelException;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.serving.AdaptationRegistry;
import dev.moeadapter.serving.BadParameterException;
import dev.moeadapter.serving.ServingConfigException;
import dev.moeadapter.serving.routing.TraceLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * Chooses the arm of a request. A caller key (the configured header) is hashed with the policy's
 * name — SHA-256, its first 53 bits read as a fraction in [0, 1) — and mapped onto the arms'
 * cumulative weights (arms ordered by name), so a caller keeps its arm across requests and restarts
 * while the configuration stays the same, and over many callers each arm gets its weight's share.
 * A request without a caller key gets an arm at random by weight. A request may name its arm, or
 * send settings for it, only where the policy allows overrides, and may name a policy other than the
 * default one only where {@code selectable-policies} lists it. Every arm is checked against the
 * model at startup, its method's requirements included ({@link AdaptationStrategy#validate}); without
 * configured policies an adaptation the model cannot run is left out of the implicit one, with a
 * warning, and a request naming it gets the reason. Sessions are sized for the arms configured
 * ({@link #maxSequences()}). Built with {@link #builder}; a mistake fails the build with a
 * {@link ServingConfigException} naming the setting.
 */
public class PolicyRouter {
    private static final Logger LOG = LoggerFactory.getLogger(PolicyRouter.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    /** The policy used when none is configured. */
    public static final String IMPLICIT_POLICY = "default";

    private final Map<String, Policy> policies = new LinkedHashMap<>();
    private final Policy defaultPolicy;
    private final List<String> selectable;
    /** Adaptations present that the model cannot run, with the reason (only without configured policies). */
    private final Map<String, String> unsupported = new LinkedHashMap<>();

    private PolicyRouter(Builder b) {
        if (b.policies.isEmpty()) {
            // every adaptation present that the model can run is an arm a request may name; callers that
            // name none get plain generation
            List<Arm> arms = new ArrayList<>();
            for (String n : b.registry.names()) {
                AdaptationStrategy strategy = b.registry.get(n);
                try {
                    strategy.validate(b.model);
                } catch (UnsupportedModelException e) {
                    LOG.warn("adaptation '{}' is left out: {}", n, e.getMessage());
                    unsupported.put(n, e.getMessage());
                    continue;
                } catch (InvalidRequestException e) {
                    throw new ServingConfigException(null, "adaptation '" + n + "': " + e.getMessage(), e);
                }
                arms.add(new Arm(IMPLICIT_POLICY, n, Arm.PLAIN.equals(n) ? 1 : 0, strategy, StrategySettings.NONE, b.timeBudget,
                        TraceLevel.PROBABILITIES));
            }
            policies.put(IMPLICIT_POLICY, new Policy(IMPLICIT_POLICY, true, arms));
        }
        b.policies.forEach((name, p) -> policies.put(name, build(name, p, b)));
        String wanted = b.defaultPolicy;
        if (wanted == null) {
            if (policies.size() > 1) {
                throw new ServingConfigException("default-policy", "set it to one of " + policies.keySet());
            }
            wanted = policies.keySet().iterator().next();
        }
        defaultPolicy = policies.get(wanted);
        if (defaultPolicy == null) {
            throw new ServingConfigException("default-policy", "there is no policy '" + wanted + "'; policies: " + policies.keySet());
        }
        for (String name : b.selectable) {
            if (!policies.containsKey(name)) {
                throw new ServingConfigException("selectable-policies", "there is no policy '" + name + "'; policies: " + policies.keySet());
            }
        }
        selectable = List.copyOf(b.selectable);
        for (Policy p : policies.values()) {
            LOG.info("policy '{}'{}{}: {}", p.name(), p == defaultPolicy ? " (default)" : "", p.allowOverride() ? ", overrides allowed" : "",
                    p.arms().stream().map(a -> a.name() + "=" + a.adaptation() + " weight " + a.weight()
                            + (a.settings().isEmpty() ? "" : " " + a.settings())).toList());
        }
    }

    /** A router over {@code registry}'s strategies, each arm checked against {@code model}. */
    public static Builder builder(AdaptationRegistry registry, ModelInfo model) {
        return new Builder(registry, model);
    }

    /** The most sequences one request on any configured arm needs: what a session is sized for. */
    public int maxSequences() {
        return policies.values().stream().flatMap(p -> p.arms().stream()).mapToInt(a -> a.strategy().sequencesNeeded()).max().orElse(1);
    }

    /**
     * Checks an arm's strategy against the model. A refusal names the arm's settings; one for the
     * model's sake names the setting that asks for what the model lacks, or else the arm's adaptation.
     */
    private static void check(String arm, AdaptationStrategy strategy, ModelInfo model) {
        try {
            strategy.validate(model);
        } catch (UnsupportedModelException e) {
            throw new ServingConfigException(arm + (e.setting() == null ? ".adaptation" : ".settings." + e.setting()), e.getMessage(), e);
        } catch (InvalidRequestException e) {
            throw new ServingConfigException(arm + ".settings", e.getMessage(), e);
        }
    }

    private static Policy build(String name, PolicySpec p, Builder b) {
        String prefix = "policies." + name;
        if (!NAME.matcher(name).matches()) {
            throw new ServingConfigException(prefix, "a policy name is 1 to 64 letters, digits, '_', '.' or '-'");
        }
        List<Arm> arms = new ArrayList<>();
        p.arms().forEach((armName, a) -> {
            String at = prefix + ".arms." + armName;
            if (!NAME.matcher(armName).matches()) {
                throw new ServingConfigException(at, "an arm name is 1 to 64 letters, digits, '_', '.' or '-'");
            }
            if (!b.registry.names().contains(a.adaptation())) {
                String why = b.registry.unavailable().get(a.adaptation());
                throw new ServingConfigException(at + ".adaptation", "no adaptation '" + a.adaptation() + "' in this service ("
                        + (why == null ? "its module is not on the classpath?" : why) + "); available: " + b.registry.names());
            }
            if (!Double.isFinite(a.weight()) || a.weight() < 0) {
                throw new ServingConfigException(at + ".weight", "must be a finite number >= 0");
            }
            StrategySettings settings = StrategySettings.of(a.settings());
            AdaptationStrategy strategy;
            try {
                strategy = b.registry.get(a.adaptation()).withSettings(settings);
            } catch (InvalidRequestException e) {
                throw new ServingConfigException(at + ".settings", e.getMessage(), e);
            }
            check(at, strategy, b.model);
            if (a.timeBudget() != null && (a.timeBudget().isNegative() || a.timeBudget().isZero())) {
                throw new ServingConfigException(at + ".time-budget", "must be positive, got " + a.timeBudget());
            }
            arms.add(new Arm(name, armName, a.weight(), strategy, settings, a.timeBudget() == null ? b.timeBudget : a.timeBudget(),
                    a.routingTrace()));
        });
        arms.sort(Comparator.comparing(Arm::name));
        if (arms.stream().noneMatch(a -> a.weight() > 0)) {
            throw new ServingConfigException(prefix + ".arms", "at least one arm needs a positive weight");
        }
        return new Policy(name, p.allowOverride(), arms);
    }

    public Collection<Policy> policies() {
        return List.copyOf(policies.values());
    }

    public Policy defaultPolicy() {
        return defaultPolicy;
    }

    /**
     * The policy a request names, or the default one for null.
     *
     * @throws OverrideNotAllowedException a policy requests may not name, or no such policy: the same answer, so
     *                                     that a request cannot tell which names exist (the policy list is not public)
     */
    public Policy policy(String name) {
        if (name == null || name.equals(defaultPolicy.name())) {
            return defaultPolicy;
        }
        Policy p = policies.get(name);
        if (p == null || !selectable.contains(name)) {
            throw new OverrideNotAllowedException("policy", "policy '" + name + "' cannot be named by a request; a request may name: "
                    + selectable());
        }
        return p;
    }

    /** The policies a request may name. */
    private List<String> selectable() {
        List<String> names = new ArrayList<>(List.of(defaultPolicy.name()));
        selectable.stream().filter(n -> !names.contains(n)).forEach(names::add);
        return names;
    }

    /**
     * The arm for a request.
     *
     * @param policyName the policy the request names, or null for the default one
     * @param callerKey  the caller key, or null/blank when the request carried none
     * @param armName    the arm the request names, or null
     * @param settings   the request's own settings for the arm (empty for none)
     * @throws InvalidRequestException      unknown arm, or settings the strategy refuses
     * @throws OverrideNotAllowedException  a policy a request may not name (or none of that name), or an arm or settings
     *                                      named where the policy does not allow it
     */
    public Assignment assign(String policyName, String callerKey, String armName, StrategySettings settings) {
        Policy policy = policy(policyName);
        if ((armName != null || !settings.isEmpty()) && !policy.allowOverride()) {
            throw new OverrideNotAllowedException(armName != null ? "arm" : "settings", "policy '" + policy.name()
                    + "' assigns arms itself: a request may not name " + (armName != null ? "its arm" : "settings"));
        }
        if (armName != null) {
            if (unsupported.containsKey(armName)) {
                throw new BadParameterException("arm", "adaptation '" + armName + "' cannot run on this model: " + unsupported.get(armName));
            }
            Arm arm = policy.arm(armName);
            return new Assignment(policy, arm, withSettings(arm, settings), Assignment.Basis.REQUEST, settings.isEmpty());
        }
        boolean keyed = callerKey != null && !callerKey.isBlank();
        Arm arm = policy.atFraction(keyed ? fraction(policy.name(), callerKey) : ThreadLocalRandom.current().nextDouble());
        return new Assignment(policy, arm, withSettings(arm, settings), keyed ? Assignment.Basis.CALLER : Assignment.Basis.RANDOM,
                settings.isEmpty());
    }

    private static AdaptationStrategy withSettings(Arm arm, StrategySettings settings) {
        try {
            return arm.strategy().withSettings(settings);
        } catch (InvalidRequestException e) {
            throw new BadParameterException("settings", e.getMessage());
        }
    }

    /** A stable fraction in [0, 1) for a caller in a policy. */
    static double fraction(String policy, String callerKey) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(policy.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            byte[] digest = sha.digest(callerKey.getBytes(StandardCharsets.UTF_8));
            return (ByteBuffer.wrap(digest).getLong() >>> 11) * 0x1.0p-53;
        } catch (NoSuchAlgorithmException e) {
            throw new MoeAdapterException("every JDK has SHA-256", e);
        }
    }

    /** The policies of a service; without any, every adaptation is an arm of the implicit policy "default". */
    public static final class Builder {
        private final AdaptationRegistry registry;
        private final ModelInfo model;
        private final Map<String, PolicySpec> policies = new LinkedHashMap<>();
        private String defaultPolicy;
        private List<String> selectable = List.of();
        private Duration timeBudget = Duration.ofSeconds(30);

        private Builder(AdaptationRegistry registry, ModelInfo model) {
            this.registry = Objects.requireNonNull(registry, "registry");
            this.model = Objects.requireNonNull(model, "model");
        }

        public Builder policy(String name, PolicySpec spec) {
            policies.put(name, spec);
            return this;
        }

        public Builder policies(Map<String, PolicySpec> specs) {
            policies.putAll(specs);
            return this;
        }

        /** The policy of a request that names none; may be left out where there is only one. */
        public Builder defaultPolicy(String name) {
            this.defaultPolicy = name;
            return this;
        }

        /** Policies other than the default one that a request may name. */
        public Builder selectable(List<String> names) {
            this.selectable = List.copyOf(names);
            return this;
        }

        /** The time budget of an arm that sets none. */
        public Builder timeBudget(Duration timeBudget) {
            if (timeBudget.isNegative() || timeBudget.isZero()) {
                throw new ServingConfigException("time-budget", "must be positive, got " + timeBudget);
            }
            this.timeBudget = timeBudget;
            return this;
        }

        public PolicyRouter build() {
            return new PolicyRouter(this);
        }
    }
}
