package dev.moeadapter.spring.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Answers a URL with "." or ".." segments (also percent-encoded) as unknown (404) before any handler
 * sees it: Spring MVC matches the URL as sent, so {@code /actuator/health/../env} would reach the
 * health endpoint with a component named "..", which fails with a 500.
 */
public class DotSegmentRefusal extends OncePerRequestFilter {
    private static final Pattern DOT_SEGMENT = Pattern.compile("(^|/)(\\.|%2e){1,2}(/|;|$)");

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String uri = request.getRequestURI();
        if (DOT_SEGMENT.matcher(uri.toLowerCase(Locale.ROOT)).find()) {
            ApiErrors.write(response, HttpStatus.NOT_FOUND, "invalid_request_error", "unknown_url", "unknown request URL: " + uri);
            return;
        }
        chain.doFilter(request, response);
    }
}
