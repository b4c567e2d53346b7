package dev.moeadapter.spring;

import dev.moeadapter.serving.generation.GenerationService;
import dev.moeadapter.spring.web.ApiErrors;
import dev.moeadapter.spring.web.AsyncAnswers;
import dev.moeadapter.spring.web.BodilessNotFound;
import dev.moeadapter.spring.web.DotSegmentRefusal;
import dev.moeadapter.spring.web.GenerationController;
import dev.moeadapter.spring.web.JsonErrorController;
import dev.moeadapter.spring.web.PolicyController;
import dev.moeadapter.spring.web.RequestIdHeader;
import dev.moeadapter.spring.web.RequestSizeLimit;
import dev.moeadapter.spring.web.openai.OpenAiController;
import dev.moeadapter.spring.web.security.ApiKeyAuthentication;
import dev.moeadapter.spring.web.security.BrowserOrigins;
import dev.moeadapter.spring.web.security.CallerIdentity;
import dev.moeadapter.spring.web.security.CallerRateLimit;
import dev.moeadapter.spring.web.tomcat.DepartureProbeValve;
import dev.moeadapter.spring.web.tomcat.JsonTomcatErrors;
import jakarta.servlet.Filter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.tomcat.ConfigurableTomcatWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.core.Ordered;
import org.springframework.core.type.AnnotatedTypeMetadata;
import org.springframework.web.filter.CorsFilter;
import org.springframework.web.servlet.config.annotation.AsyncSupportConfigurer;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;
import tools.jackson.databind.json.JsonMapper;

import java.util.List;

/**
 * The REST endpoints, in servlet web applications that have a generation service. Runs before
 * Spring Boot's error handling, so that its error controller steps aside for the JSON one.
 */
@AutoConfiguration(after = MoeAdapterAutoConfiguration.class, beforeName =
        "org.springframework.boot.webmvc.autoconfigure.error.ErrorMvcAutoConfiguration")
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnBean(GenerationService.class)
@Import({GenerationController.class, PolicyController.class, OpenAiController.class, ApiErrors.class})
public class MoeAdapterWebAutoConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(MoeAdapterWebAutoConfiguration.class);

    @Bean
    public CallerIdentity moeCallerIdentity(MoeAdapterProperties props) {
        return new CallerIdentity(props.callerHeader(), props.security().trustedProxies());
    }

    @Bean(destroyMethod = "close")
    public AsyncAnswers moeAsyncAnswers(JsonMapper json, MoeAdapterProperties props) {
        return new AsyncAnswers(json, props.streamKeepAlive(), props.wholeAnswerProbe(), props.streamTimeout());
    }

    /** Errors the container answers itself (a filter's, a malformed URL, {@code /error} asked for) in the documented shape. */
    @Bean
    @ConditionalOnMissingBean(ErrorController.class)
    public JsonErrorController moeErrorController() {
        return new JsonErrorController();
    }

    /**
     * With Tomcat: the errors Tomcat answers itself, before any servlet (a malformed request line or
     * header), in the documented JSON shape rather than its HTML page (after Spring Boot's own
     * customizer, which installs Tomcat's valve); and the check that lets a request waiting for
     * admission see that its client went away.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.apache.catalina.valves.ErrorReportValve")
    static class TomcatParts {
        @Bean
        WebServerFactoryCustomizer<ConfigurableTomcatWebServerFactory> moeJsonTomcatErrors() {
            return new JsonTomcatErrors();
        }

        @Bean
        WebServerFactoryCustomizer<ConfigurableTomcatWebServerFactory> moeDepartureProbes() {
            return factory -> factory.addContextCustomizers(context -> context.getPipeline().addValve(new DepartureProbeValve()));
        }
    }

    /** First API keys (when configured), then the rate limit per caller (when configured), then the size limit. */
    @Bean
    public FilterRegistrationBean<ApiKeyAuthentication> moeApiKeyAuthentication(MoeAdapterProperties props, CallerIdentity callers) {
        List<String> keys = props.security().apiKeys();
        if (keys.isEmpty()) {
            LOG.info("API-key authentication is off (moe.adapter.security.api-keys is empty)");
        } else {
            LOG.info("API-key authentication is on for /v1/*: {} keys", keys.size());
        }
        return guard(new ApiKeyAuthentication(keys, props.security().authFailures(), callers), 1, !keys.isEmpty());
    }

    @Bean
    @Conditional(RateLimitConfigured.class)
    public FilterRegistrationBean<CallerRateLimit> moeCallerRateLimit(MoeAdapterProperties props, CallerIdentity callers) {
        MoeAdapterProperties.RateLimit limit = props.security().rateLimit();
        LOG.info("rate limit for /v1/*: {} requests per {} per caller", limit.requests(), limit.period());
        return guard(new CallerRateLimit(limit, callers), 2, true);
    }

    /**
     * Before authentication, when origins are configured: a browser's preflight (which carries no API key)
     * is answered, and a cross-origin request from an origin not listed is refused.
     */
    @Bean
    public FilterRegistrationBean<CorsFilter> moeBrowserOrigins(MoeAdapterProperties props) {
        List<String> origins = props.security().corsOrigins();
        if (!origins.isEmpty()) {
            LOG.info("browsers may call /v1/* from the origins {}", origins);
        }
        return guard(BrowserOrigins.filter(origins), 0, !origins.isEmpty());
    }

    /** First on /v1/*: every response, a refusal by a later filter too, carries an {@code x-request-id}. */
    @Bean
    public FilterRegistrationBean<RequestIdHeader> moeRequestIdHeader() {
        return guard(new RequestIdHeader(), -1, true);
    }

    @Bean
    public FilterRegistrationBean<RequestSizeLimit> moeRequestSizeLimit(MoeAdapterProperties props) {
        return guard(new RequestSizeLimit(props.limits().maxRequestSize()), 3, true);
    }

    private static <F extends Filter> FilterRegistrationBean<F> guard(F filter, int order, boolean enabled) {
        FilterRegistrationBean<F> reg = new FilterRegistrationBean<>(filter);
        reg.addUrlPatterns("/v1/*");
        reg.setOrder(order);
        reg.setEnabled(enabled);
        return reg;
    }

    /** Before anything else, on every URL: a URL with dot segments is unknown. */
    @Bean
    public FilterRegistrationBean<DotSegmentRefusal> moeDotSegmentRefusal() {
        FilterRegistrationBean<DotSegmentRefusal> reg = new FilterRegistrationBean<>(new DotSegmentRefusal());
        reg.setOrder(Ordered.HIGHEST_PRECEDENCE);
        return reg;
    }

    /** The actuator's bare 404s (an unknown health component) get the documented JSON error. */
    @Bean
    public FilterRegistrationBean<BodilessNotFound> moeBodilessNotFound(
            @org.springframework.beans.factory.annotation.Value("${management.endpoints.web.base-path:/actuator}") String actuator) {
        FilterRegistrationBean<BodilessNotFound> reg = new FilterRegistrationBean<>(new BodilessNotFound());
        reg.addUrlPatterns(actuator + "/*");
        reg.setOrder(Ordered.HIGHEST_PRECEDENCE + 1);
        return reg;
    }

    /** {@code moe.adapter.security.rate-limit.requests} is above 0. */
    static class RateLimitConfigured implements Condition {
        @Override
        public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
            return Binder.get(context.getEnvironment()).bind("moe.adapter.security.rate-limit.requests", Integer.class)
                    .map(n -> n > 0).orElse(false);
        }
    }

    /** Streamed answers run asynchronously; the servlet container's default timeout (often 30 s) is too short. */
    @Bean
    public WebMvcConfigurer moeStreamTimeout(MoeAdapterProperties props) {
        return new WebMvcConfigurer() {
            @Override
            public void configureAsyncSupport(AsyncSupportConfigurer configurer) {
                // the answer ends itself at stream-timeout (AsyncAnswers); the container's timeout is the backstop
                configurer.setDefaultTimeout(props.streamTimeout().plus(AsyncAnswers.CONTAINER_GRACE).toMillis());
            }
        };
    }
}
