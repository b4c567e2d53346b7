package dev.moeadapter.spring.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.util.ContentCachingResponseWrapper;

import java.io.IOException;

/**
 * Gives a 404 that a handler answered without a body the documented JSON error: the actuator's health
 * endpoint answers an unknown component or group ({@code /actuator/health/nope}) with a bare 404. The
 * answer is held until the handler returns (actuator answers are small), so it can still be replaced.
 */
public class BodilessNotFound extends OncePerRequestFilter {

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        ContentCachingResponseWrapper held = new ContentCachingResponseWrapper(response);
        chain.doFilter(request, held);
        if (held.getStatus() == HttpStatus.NOT_FOUND.value() && held.getContentSize() == 0 && !response.isCommitted()) {
            response.reset();
            ApiErrors.write(response, HttpStatus.NOT_FOUND, "invalid_request_error", "unknown_url",
                    "unknown request URL: " + request.getMethod() + " " + request.getRequestURI());
            return;
        }
        held.copyBodyToResponse();
    }
}
