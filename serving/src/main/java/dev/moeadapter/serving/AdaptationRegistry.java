package dev.moeadapter.serving;

import dev.moeadapter.core.adaptation.AdaptationProvider;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.ProviderContext;
import dev.moeadapter.core.adaptation.SettingsSchema;
import dev.moeadapter.core.adaptation.StrategySettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The adaptation strategies available in this service, by name: one per {@link AdaptationProvider}
 * on the class path that its host context can build, and the application's own strategies.
 */
public final class AdaptationRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(AdaptationRegistry.class);

    /**
     * One available adaptation.
     *
     * @param schema its settings, where a provider describes them (empty for an application's own strategy)
     */
    public record Entry(String name, AdaptationStrategy strategy, Optional<SettingsSchema> schema) {
    }

    private final Map<String, Entry> byName = new TreeMap<>();
    private final Map<String, String> unavailable = new TreeMap<>();

    /** Strategies given directly, none with a described schema. */
    public AdaptationRegistry(List<AdaptationStrategy> strategies) {
        this(strategies.stream().map(s -> new Entry(s.name(), s, Optional.empty())).toList(), Map.of());
    }

    private AdaptationRegistry(List<Entry> entries, Map<String, String> unavailable) {
        for (Entry e : entries) {
            if (byName.putIfAbsent(e.name(), e) != null) {
                throw new IllegalStateException("two adaptation strategies are named '" + e.name() + "'");
            }
        }
        if (!byName.containsKey("none")) {
            throw new IllegalStateException("the plain generation strategy 'none' is missing");
        }
        this.unavailable.putAll(unavailable);
    }

    /**
     * Every provider on the class path ({@link AdaptationProvider#all()}) that {@code context} can
     * build, each with its {@code configured} settings (none by default), and {@code own} strategies,
     * which replace a provider's of the same name.
     *
     * @throws ProviderException where a provider cannot build its strategy (e.g. refused settings)
     */
    public static AdaptationRegistry fromProviders(ProviderContext context, Map<String, StrategySettings> configured,
                                                   List<AdaptationStrategy> own) {
        return fromProviders(AdaptationProvider.all(), context, configured, own);
    }

    /** As {@link #fromProviders(ProviderContext, Map, List)}, over the given providers. */
    public static AdaptationRegistry fromProviders(List<AdaptationProvider> providers, ProviderContext context,
                                                   Map<String, StrategySettings> configured, List<AdaptationStrategy> own) {
        Set<String> ownNames = new HashSet<>();
        own.forEach(s -> ownNames.add(s.name()));
        List<Entry> entries = new java.util.ArrayList<>(own.stream().map(s -> new Entry(s.name(), s, Optional.<SettingsSchema>empty())).toList());
        Map<String, String> unavailable = new TreeMap<>();
        Set<String> seen = new HashSet<>();
        for (AdaptationProvider p : providers) {
            if (!seen.add(p.name())) {
                throw new IllegalStateException("two adaptation providers are named '" + p.name() + "'");
            }
            if (ownNames.contains(p.name())) {
                LOG.info("adaptation '{}': the application's own strategy replaces the {} module's", p.name(), p.name());
                continue;
            }
            Optional<String> why = p.unavailable(context);
            if (why.isPresent()) {
                unavailable.put(p.name(), why.get());
                continue;
            }
            AdaptationStrategy s;
            try {
                s = p.create(context, configured.getOrDefault(p.name(), StrategySettings.NONE));
            } catch (RuntimeException e) {
                throw new ProviderException(p.name(), e);
            }
            entries.add(new Entry(p.name(), s, Optional.of(p.schema())));
        }
        return new AdaptationRegistry(entries, unavailable);
    }

    /** A provider that could not build its strategy; the cause says why. */
    public static final class ProviderException extends IllegalStateException {
        private final String provider;

        ProviderException(String provider, RuntimeException cause) {
            super("adaptation '" + provider + "': " + cause.getMessage(), cause);
            this.provider = provider;
        }

        public String provider() {
            return provider;
        }
    }

    public AdaptationStrategy get(String name) {
        Entry e = byName.get(name == null ? "none" : name);
        if (e == null) {
            throw new BadParameterException("arm", "unknown adaptation '" + name + "'; available: " + byName.keySet()
                    + (unavailable.containsKey(name) ? " (" + unavailable.get(name) + ")" : ""));
        }
        return e.strategy();
    }

    public List<String> names() {
        return List.copyOf(byName.keySet());
    }

    /** The available adaptations, by name. */
    public List<Entry> entries() {
        return List.copyOf(byName.values());
    }

    /** Adaptations whose module is present but that this host cannot build, with the reason. */
    public Map<String, String> unavailable() {
        return Collections.unmodifiableMap(unavailable);
    }
}
