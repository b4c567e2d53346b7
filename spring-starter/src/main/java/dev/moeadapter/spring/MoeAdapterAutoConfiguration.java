package dev.moeadapter.spring;

import dev.moeadapter.c3po.C3poProvider;
import dev.moeadapter.c3po.Embedder;
import dev.moeadapter.c3po.HiddenStateEmbedder;
import dev.moeadapter.c3po.ReferenceSet;
import dev.moeadapter.c3po.ReferenceSetException;
import dev.moeadapter.core.ModelLoadException;
import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.adaptation.AdaptationProvider;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.ProviderContext;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.core.adaptation.ResultCache;
import dev.moeadapter.core.adaptation.UnsupportedModelException;
import dev.moeadapter.serving.AdaptationRegistry;
import dev.moeadapter.steering.SteeringDirectory;
import dev.moeadapter.serving.ServingConfigException;
import dev.moeadapter.serving.admission.Admission;
import dev.moeadapter.serving.cache.CaffeineResultCache;
import dev.moeadapter.serving.experiment.InMemoryOutcomeStore;
import dev.moeadapter.serving.experiment.OutcomeStore;
import dev.moeadapter.serving.feedback.FeedbackLedger;
import dev.moeadapter.serving.generation.GenerationLimits;
import dev.moeadapter.serving.generation.GenerationService;
import dev.moeadapter.serving.generation.SessionPool;
import dev.moeadapter.serving.guard.ArmGuards;
import dev.moeadapter.serving.guard.BreakerSettings;
import dev.moeadapter.serving.policy.Arm;
import dev.moeadapter.serving.policy.PolicyRouter;
import dev.moeadapter.serving.policy.PolicySpec;
import dev.moeadapter.spring.metrics.DecodeSlotsHealthIndicator;
import dev.moeadapter.spring.metrics.ModelHealthIndicator;
import dev.moeadapter.spring.metrics.MoeMetrics;
import dev.moeadapter.spring.metrics.SchedulingMetrics;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.cache.CaffeineCacheMetrics;
import io.micrometer.core.instrument.Metrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads the model named by {@code moe.adapter.model} once, opens a pool of sessions sized for the
 * arms configured, registers one strategy per method module on the classpath (its
 * {@link AdaptationProvider}, found with {@link java.util.ServiceLoader}) besides the application's
 * own {@link AdaptationStrategy} beans, and builds the serving
 * core ({@code dev.moeadapter.serving}: A/B policies, admission, guards, feedback ledger,
 * adaptation-result cache) from {@code moe.adapter.*}, binding its metrics hooks to Micrometer.
 */
@AutoConfiguration
@EnableConfigurationProperties(MoeAdapterProperties.class)
@ConditionalOnProperty(prefix = "moe.adapter", name = "model")
public class MoeAdapterAutoConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(MoeAdapterAutoConfiguration.class);

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public Model moeModel(MoeAdapterProperties props) {
        try {
            return Model.load(new ModelParams(props.model(), props.gpuLayers(), props.mmap()));
        } catch (ModelLoadException e) {
            throw new IllegalStateException("moe.adapter.model: " + e.getMessage(), e);
        }
    }

    /**
     * Settings of one adaptation from properties, applied when its provider builds the strategy:
     * refused settings fail startup naming {@code prefix}, a model the method cannot run or a
     * strategy that cannot be built naming {@code askedBy}, the property that asked for the method.
     */
    public record ConfiguredAdaptation(String name, String prefix, String askedBy, StrategySettings settings) {
    }

    /**
     * One strategy per provider on the class path that this application can build (collaborators
     * such as C3PO's reference set come from its beans), and the application's own strategy beans,
     * which replace a provider's of the same name.
     */
    @Bean
    @ConditionalOnMissingBean
    public AdaptationRegistry moeAdaptationRegistry(Model model, ResultCache cache, BeanFactory beans, ObjectProvider<AdaptationStrategy> own,
                                                    ObjectProvider<ConfiguredAdaptation> configured) {
        ProviderContext context = ProviderContext.of(model.info(), cache, type -> beans.getBeanProvider(type).getIfAvailable());
        Map<String, StrategySettings> settings = new LinkedHashMap<>();
        List<ConfiguredAdaptation> asked = configured.orderedStream().toList();
        for (ConfiguredAdaptation c : asked) {
            AdaptationProvider provider = AdaptationProvider.named(c.name())
                    .orElseThrow(() -> new IllegalStateException(c.askedBy() + ": no adaptation module '" + c.name() + "' on the classpath"));
            try {
                provider.requirements(c.settings()).model().require(model.info()); // asked for by name: refused, not left out
            } catch (UnsupportedModelException e) {
                throw new IllegalStateException(c.askedBy() + ": " + e.getMessage(), e);
            } catch (InvalidRequestException e) {
                throw new IllegalStateException(c.prefix() + ": " + e.getMessage(), e);
            }
            settings.put(c.name(), c.settings());
        }
        try {
            return AdaptationRegistry.fromProviders(context, settings, own.orderedStream().toList());
        } catch (AdaptationRegistry.ProviderException e) {
            for (ConfiguredAdaptation c : asked) {
                if (c.name().equals(e.provider())) {
                    throw new IllegalStateException(c.askedBy() + ": " + e.getCause().getMessage(), e);
                }
            }
            throw e;
        }
    }

    /**
     * Sessions sized for the arms configured: each holds the sequences the most demanding arm needs.
     * Concurrent decodes times threads per decode should not exceed the processors: more only makes
     * every decode slower (the threads spin on each other), so it is warned about.
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public SessionPool moeSessionPool(Model model, MoeAdapterProperties props, PolicyRouter policies) {
        int processors = Runtime.getRuntime().availableProcessors();
        if (props.batchingLanes() > 0) {
            int sequences = policies.maxSequences(), threads = props.threads() > 0 ? props.threads() : processors;
            // A step of one row (one request decoding alone) leaves a processor to the JVM, which streams the
            // previous token meanwhile: with every processor in ggml's pool that work preempts a worker and the
            // step waits for it at ggml's barrier (docs/benchmarks.md). Steps of more rows use every processor.
            int singleRowThreads = Math.max(1, Math.min(threads, processors - 1));
            try {
                return SessionPool.batched(model, new SessionParams(props.contextSize() * sequences, props.batchingLaneRows(), sequences,
                        singleRowThreads, threads,
                        props.flashAttention(), props.kvCacheType(), props.effectiveKvLayout()),
                        props.batchingLanes(), props.effectiveBatchingWideLanes(), props.batchingPrefixes());
            } catch (InvalidRequestException e) {
                throw new IllegalStateException("moe.adapter.batching-lanes: " + e.getMessage(), e);
            }
        }
        int sessions = props.effectiveSessions(processors), threads = props.effectiveThreads(processors);
        if (sessions * threads > processors) {
            LOG.warn("moe.adapter.sessions ({}) x moe.adapter.threads ({}) = {} threads decoding at once on {} processors: "
                    + "concurrent requests will slow each other down; lower one of them", sessions, threads, sessions * threads, processors);
        }
        int sequences = policies.maxSequences();
        return new SessionPool(model, new SessionParams(props.contextSize() * sequences, props.batchSize(), sequences, threads, threads,
                props.flashAttention(), props.kvCacheType(), props.effectiveKvLayout()),
                sessions, props.effectiveWideSessions(sessions));
    }

    @Bean
    @ConditionalOnMissingBean
    public PolicyRouter moePolicyRouter(MoeAdapterProperties props, AdaptationRegistry strategies, Model model) {
        Map<String, PolicySpec> specs = new LinkedHashMap<>();
        props.policies().forEach((name, p) -> {
            Map<String, PolicySpec.ArmSpec> arms = new LinkedHashMap<>();
            p.arms().forEach((arm, a) -> arms.put(arm, new PolicySpec.ArmSpec(a.adaptation(), a.weight(), a.settings(), a.timeBudget(),
                    a.routingTrace())));
            specs.put(name, new PolicySpec(p.allowOverride(), arms));
        });
        try {
            return PolicyRouter.builder(strategies, model.info()).policies(specs).defaultPolicy(props.defaultPolicy())
                    .selectable(props.selectablePolicies()).timeBudget(props.guards().timeBudget()).build();
        } catch (ServingConfigException e) {
            throw new IllegalStateException("moe.adapter" + (e.path() == null ? "" : "." + e.path()) + ": " + e.reason(), e);
        }
    }

    /** Admission, the one queue: a permit per session or lane, fair across callers. */
    @Bean
    @ConditionalOnMissingBean
    public Admission moeAdmission(SessionPool pool, MoeAdapterProperties props, ObjectProvider<MeterRegistry> meters) {
        Admission admission = new Admission(pool.size(), props.acquireTimeout(), props.maxWaiting());
        SchedulingMetrics.bind(meters(meters), admission, pool.loop());
        return admission;
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public ArmGuards moeArmGuards(MoeAdapterProperties props, PolicyRouter policies, AdaptationRegistry strategies,
                                  ObjectProvider<MeterRegistry> meters) {
        MoeAdapterProperties.Breaker b = props.guards().breaker();
        ArmGuards guards = new ArmGuards(new BreakerSettings(b.failureRate(), b.window(), b.minimumCalls(), b.waitInOpen(), b.halfOpenCalls()),
                policies.policies(), strategies.get(Arm.PLAIN));
        TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(guards.breakers()).bindTo(meters(meters));
        return guards;
    }

    @Bean
    @ConditionalOnMissingBean
    public MoeMetrics moeMetrics(Model model, PolicyRouter policies, ObjectProvider<MeterRegistry> meters) {
        return new MoeMetrics(meters(meters), model.path().getFileName().toString(), policies.policies());
    }

    /**
     * Answers and feedback in this process's memory, where no other store (a database) is defined.
     */
    @Bean
    @ConditionalOnMissingBean(OutcomeStore.class)
    public InMemoryOutcomeStore moeOutcomeStore(MoeAdapterProperties props, ObjectProvider<MeterRegistry> meters) {
        LOG.info("A/B outcomes are kept in memory only (no DataSource): they are lost on restart and not shared between replicas");
        InMemoryOutcomeStore store = new InMemoryOutcomeStore(props.feedback().retention(), props.feedback().maxEntries());
        CaffeineCacheMetrics.monitor(meters(meters), store.pending(), "moe.adapter.feedback");
        return store;
    }

    @Bean
    @ConditionalOnMissingBean
    public FeedbackLedger moeFeedbackLedger(OutcomeStore store, MoeAdapterProperties props, MoeMetrics metrics) {
        return new FeedbackLedger(store, props.feedback().retention(), Clock.systemUTC(), metrics);
    }

    /** Adaptation results worth reusing; method modules receive it where they can use it. */
    @Bean
    @ConditionalOnMissingBean
    public ResultCache moeResultCache(MoeAdapterProperties props, ObjectProvider<MeterRegistry> meters) {
        CaffeineResultCache cache = new CaffeineResultCache(props.resultCache().maxEntries(), props.resultCache().expireAfterAccess());
        CaffeineCacheMetrics.monitor(meters(meters), cache.cache(), "moe.adapter.adaptation");
        return cache;
    }

    @Bean
    @ConditionalOnMissingBean
    public GenerationService moeGenerationService(Model model, SessionPool pool, AdaptationRegistry strategies, PolicyRouter policies,
                                                  Admission admission, ArmGuards guards, MoeMetrics metrics, FeedbackLedger ledger,
                                                  MoeAdapterProperties props, ObjectProvider<MeterRegistry> meters) {
        var d = props.sampling();
        GenerationService service = GenerationService.builder().model(model).pool(pool).strategies(strategies).policies(policies).admission(admission)
                .guards(guards).metrics(metrics).ledger(ledger)
                .limits(new GenerationLimits(props.contextSize(), props.limits().maxTokens(),
                        new GenerationLimits.SamplingDefaults(d.maxTokens(), d.temperature(), d.topK(), d.topP(), d.minP()),
                        props.limits().maxRoutingTrace().toBytes()))
                .build();
        SchedulingMetrics.bindWideLanes(meters(meters), service);
        return service;
    }

    /** Health component "moeAdapter": the model served and the sessions free. */
    @Bean
    @ConditionalOnMissingBean(name = "moeAdapterHealthIndicator")
    public ModelHealthIndicator moeAdapterHealthIndicator(Model model, SessionPool pool) {
        return new ModelHealthIndicator(model, pool);
    }

    /** Health component "moeAdapterSlots", for the readiness probe: a decode slot free, or BUSY. */
    @Bean
    @ConditionalOnMissingBean(name = "moeAdapterSlotsHealthIndicator")
    public DecodeSlotsHealthIndicator moeAdapterSlotsHealthIndicator(SessionPool pool) {
        return new DecodeSlotsHealthIndicator(pool);
    }

    /** The application's registry; without one (no actuator metrics) meters go to Micrometer's empty global registry. */
    private static MeterRegistry meters(ObjectProvider<MeterRegistry> meters) {
        return meters.getIfAvailable(() -> Metrics.globalRegistry);
    }

    /** The steering directory of {@code steer} arms, when the steering module is on the classpath and it is set. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(SteeringDirectory.class)
    @ConditionalOnProperty(prefix = "moe.adapter", name = "steering-directory")
    static class Steering {
        @Bean
        @ConditionalOnMissingBean
        SteeringDirectory steeringDirectory(MoeAdapterProperties props) {
            if (!java.nio.file.Files.isDirectory(props.steeringDirectory())) {
                throw new IllegalStateException("moe.adapter.steering-directory: no directory " + props.steeringDirectory());
            }
            return new SteeringDirectory(props.steeringDirectory());
        }
    }

    /**
     * C3PO's collaborators, when the c3po module is on the classpath and
     * {@code moe.adapter.c3po.reference-set} names a reference set: the set, and the embedder that
     * searches its neighbours, by the served model's own hidden state unless the application defines
     * an {@link Embedder} bean (e.g. over a sentence-embedding model; the reference set must then be
     * built with the same embedder). The other {@code moe.adapter.c3po.*} properties are c3po's settings.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(C3poProvider.class)
    @ConditionalOnProperty(prefix = "moe.adapter.c3po", name = "reference-set")
    static class C3po {
        @Bean(destroyMethod = "close")
        @ConditionalOnMissingBean
        ReferenceSet c3poReferenceSet(Model model, MoeAdapterProperties props) {
            try {
                return ReferenceSet.load(props.c3po().referenceSet(), model);
            } catch (ReferenceSetException e) {
                throw new IllegalStateException("moe.adapter.c3po.reference-set: " + e.getMessage(), e);
            }
        }

        @Bean
        @ConditionalOnMissingBean
        Embedder c3poEmbedder() {
            return new HiddenStateEmbedder();
        }

        @Bean
        ConfiguredAdaptation c3poSettings(MoeAdapterProperties props) {
            return new ConfiguredAdaptation("c3po", "moe.adapter.c3po", "moe.adapter.c3po.reference-set",
                    StrategySettings.of(props.c3po().settings()));
        }
    }
}
