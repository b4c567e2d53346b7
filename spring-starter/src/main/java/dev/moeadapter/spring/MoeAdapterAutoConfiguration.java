package dev.moeadapter.spring;

import dev.moeadapter.c3po.Algorithm;
import dev.moeadapter.c3po.C3poSettings;
import dev.moeadapter.c3po.C3poStrategy;
import dev.moeadapter.c3po.Embedder;
import dev.moeadapter.c3po.HiddenStateEmbedder;
import dev.moeadapter.c3po.ReferenceSet;
import dev.moeadapter.c3po.ReferenceSetException;
import dev.moeadapter.core.ModelLoadException;
import dev.moeadapter.core.adaptation.AdaptationStrategy;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.rerouting.ReroutingSettings;
import dev.moeadapter.rerouting.ReroutingStrategy;
import dev.moeadapter.scmoe.ScmoeSettings;
import dev.moeadapter.scmoe.ScmoeStrategy;
import dev.moeadapter.spring.engine.AdaptationRegistry;
import dev.moeadapter.core.adaptation.ResultCache;
import dev.moeadapter.spring.cache.CaffeineResultCache;
import dev.moeadapter.spring.engine.GenerationService;
import dev.moeadapter.spring.engine.Guards;
import dev.moeadapter.spring.engine.SessionPool;
import dev.moeadapter.spring.metrics.ModelHealthIndicator;
import dev.moeadapter.spring.metrics.MoeMetrics;
import dev.moeadapter.spring.policy.Arm;
import dev.moeadapter.spring.policy.FeedbackLedger;
import dev.moeadapter.spring.policy.PolicyRouter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Loads the model named by {@code moe.adapter.model} once, opens a pool of sessions sized for the
 * arms configured, registers one strategy per method module on the classpath, and builds the A/B
 * policies, guards, metrics, feedback ledger, adaptation-result cache and health indicator.
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

    @Bean
    @ConditionalOnMissingBean(name = "plainGeneration")
    public PlainGeneration plainGeneration() {
        return new PlainGeneration();
    }

    @Bean
    @ConditionalOnMissingBean
    public AdaptationRegistry moeAdaptationRegistry(ObjectProvider<AdaptationStrategy> strategies) {
        return new AdaptationRegistry(strategies.orderedStream().toList());
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
        int sessions = props.effectiveSessions(processors), threads = props.effectiveThreads(processors);
        if (sessions * threads > processors) {
            LOG.warn("moe.adapter.sessions ({}) x moe.adapter.threads ({}) = {} threads decoding at once on {} processors: "
                    + "concurrent requests will slow each other down; lower one of them", sessions, threads, sessions * threads, processors);
        }
        int sequences = policies.maxSequences();
        return new SessionPool(model, new SessionParams(props.contextSize() * sequences, props.batchSize(), sequences, threads, threads),
                sessions);
    }

    @Bean
    @ConditionalOnMissingBean
    public PolicyRouter moePolicyRouter(MoeAdapterProperties props, AdaptationRegistry strategies, Model model) {
        return new PolicyRouter(props, strategies, model.info());
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public Guards moeGuards(SessionPool pool, MoeAdapterProperties props, PolicyRouter policies, AdaptationRegistry strategies,
                            ObjectProvider<MeterRegistry> meters) {
        return new Guards(pool.size(), props.acquireTimeout(), props.guards(), policies.policies(), strategies.get(Arm.PLAIN),
                meters(meters));
    }

    @Bean
    @ConditionalOnMissingBean
    public MoeMetrics moeMetrics(Model model, PolicyRouter policies, ObjectProvider<MeterRegistry> meters) {
        return new MoeMetrics(meters(meters), model.path().getFileName().toString(), policies.policies());
    }

    @Bean
    @ConditionalOnMissingBean
    public FeedbackLedger moeFeedbackLedger(MoeAdapterProperties props, MoeMetrics metrics, ObjectProvider<MeterRegistry> meters) {
        return new FeedbackLedger(props.feedback().retention(), props.feedback().maxEntries(), metrics, meters(meters));
    }

    /** Adaptation results worth reusing; method modules receive it where they can use it. */
    @Bean
    @ConditionalOnMissingBean
    public ResultCache moeResultCache(MoeAdapterProperties props, ObjectProvider<MeterRegistry> meters) {
        return new CaffeineResultCache(props.cache().maxEntries(), props.cache().expireAfterAccess(), meters(meters));
    }

    @Bean
    @ConditionalOnMissingBean
    public GenerationService moeGenerationService(Model model, SessionPool pool, AdaptationRegistry strategies, PolicyRouter policies,
                                                  Guards guards, MoeMetrics metrics, FeedbackLedger ledger, MoeAdapterProperties props) {
        return new GenerationService(model, pool, strategies, policies, guards, metrics, ledger, props);
    }

    /** Health component "moeAdapter": the model served and the sessions free. */
    @Bean
    @ConditionalOnMissingBean(name = "moeAdapterHealthIndicator")
    public ModelHealthIndicator moeAdapterHealthIndicator(Model model, SessionPool pool) {
        return new ModelHealthIndicator(model, pool);
    }

    /** The application's registry; without one (no actuator metrics) meters go to Micrometer's empty global registry. */
    private static MeterRegistry meters(ObjectProvider<MeterRegistry> meters) {
        return meters.getIfAvailable(() -> Metrics.globalRegistry);
    }

    /** SCMoE, when the scmoe module is on the classpath. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(ScmoeStrategy.class)
    static class Scmoe {
        @Bean
        @ConditionalOnMissingBean
        ScmoeStrategy scmoeStrategy() {
            return new ScmoeStrategy(ScmoeSettings.DEFAULTS);
        }
    }

    /** Continuous rerouting, when the rerouting module is on the classpath. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(ReroutingStrategy.class)
    static class Rerouting {
        @Bean
        @ConditionalOnMissingBean
        ReroutingStrategy reroutingStrategy(ResultCache cache) {
            return new ReroutingStrategy(ReroutingSettings.DEFAULTS, cache);
        }
    }

    /**
     * C3PO, when the c3po module is on the classpath and {@code moe.adapter.c3po.reference-set} names
     * a reference set. Neighbours are searched by the served model's own hidden state unless the
     * application defines an {@link Embedder} bean (e.g. over a sentence-embedding model; the
     * reference set must then be built with the same embedder).
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(C3poStrategy.class)
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
        @ConditionalOnMissingBean
        C3poStrategy c3poStrategy(ReferenceSet refs, Embedder embedder, MoeAdapterProperties props, ResultCache cache) {
            MoeAdapterProperties.C3po c = props.c3po();
            Algorithm algorithm = Algorithm.byLabel(c.algorithm());
            if (algorithm instanceof Algorithm.GradientDescent ngd) {
                algorithm = ngd.withSteps(c.steps());
            }
            C3poSettings settings = new C3poSettings(algorithm, c.neighbours(), c.bandwidth(), c.duplicateSimilarity(),
                    c.criticalLayers(), c.coreExperts(), c.minReferences(), c.lossTokens());
            try {
                return new C3poStrategy(refs, embedder, settings, cache);
            } catch (ReferenceSetException e) {
                throw new IllegalStateException("moe.adapter.c3po.reference-set: " + e.getMessage(), e);
            }
        }
    }
}
