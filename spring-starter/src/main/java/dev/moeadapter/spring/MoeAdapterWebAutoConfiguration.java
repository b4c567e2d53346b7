package dev.moeadapter.spring;

import dev.moeadapter.spring.engine.GenerationService;
import dev.moeadapter.spring.web.ApiErrors;
import dev.moeadapter.spring.web.GenerationController;
import dev.moeadapter.spring.web.PolicyController;
import dev.moeadapter.spring.web.RequestSizeLimit;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.web.servlet.config.annotation.AsyncSupportConfigurer;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/** The REST endpoints, in servlet web applications that have a generation service. */
@AutoConfiguration(after = MoeAdapterAutoConfiguration.class)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnBean(GenerationService.class)
@Import({GenerationController.class, PolicyController.class, ApiErrors.class})
public class MoeAdapterWebAutoConfiguration {

    @Bean
    public FilterRegistrationBean<RequestSizeLimit> moeRequestSizeLimit(MoeAdapterProperties props) {
        FilterRegistrationBean<RequestSizeLimit> reg = new FilterRegistrationBean<>(new RequestSizeLimit(props.limits().maxRequestSize()));
        reg.addUrlPatterns("/v1/*");
        return reg;
    }

    /** Streamed answers run asynchronously; the servlet container's default timeout (often 30 s) is too short. */
    @Bean
    public WebMvcConfigurer moeStreamTimeout(MoeAdapterProperties props) {
        return new WebMvcConfigurer() {
            @Override
            public void configureAsyncSupport(AsyncSupportConfigurer configurer) {
                configurer.setDefaultTimeout(props.streamTimeout().toMillis());
            }
        };
    }
}
