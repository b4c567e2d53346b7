package dev.moeadapter.spring.web.security;

import dev.moeadapter.spring.web.ApiErrors;
import dev.moeadapter.spring.web.RequestIdHeader;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpStatus;
import org.springframework.http.server.ServerHttpResponse;
import org.springframework.http.server.ServletServerHttpResponse;
import org.springframework.web.cors.CorsConfiguration;
import org.springframework.web.cors.DefaultCorsProcessor;
import org.springframework.web.cors.UrlBasedCorsConfigurationSource;
import org.springframework.web.filter.CorsFilter;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * Lets pages of the configured web origins call {@code /v1} from a browser (CORS). It runs before
 * authentication: a browser's preflight carries no API key, so it is answered here, and the request
 * that follows it is authenticated as any other. A request from an origin not listed is refused with
 * 403 in the API's error shape; a page of the service's own origin is not a cross-origin caller.
 */
public final class BrowserOrigins {
    private BrowserOrigins() {
    }

    public static CorsFilter filter(List<String> origins) {
        CorsConfiguration config = new CorsConfiguration();
        config.setAllowedOriginPatterns(origins.stream().map(String::strip).toList());
        config.setAllowedMethods(List.of("GET", "POST"));
        config.setAllowedHeaders(List.of("*")); // Authorization, Content-Type and what SDKs add (x-stainless-*, OpenAI-Beta)
        config.setExposedHeaders(List.of(RequestIdHeader.NAME, "Retry-After"));
        config.setMaxAge(Duration.ofHours(1));
        UrlBasedCorsConfigurationSource source = new UrlBasedCorsConfigurationSource();
        source.registerCorsConfiguration("/v1/**", config);
        CorsFilter filter = new CorsFilter(source);
        filter.setCorsProcessor(new DefaultCorsProcessor() {
            @Override
            protected void rejectRequest(ServerHttpResponse response) throws IOException {
                HttpServletResponse servlet = ((ServletServerHttpResponse) response).getServletResponse();
                ApiErrors.write(servlet, HttpStatus.FORBIDDEN, "permission_error", "origin_not_allowed",
                        "this origin may not call the API from a browser (moe.adapter.security.cors-origins)");
            }
        });
        return filter;
    }
}
