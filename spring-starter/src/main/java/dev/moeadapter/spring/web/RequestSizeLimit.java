package dev.moeadapter.spring.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.util.unit.DataSize;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** Refuses request bodies over the configured size with 413 before they are read. */
public class RequestSizeLimit extends OncePerRequestFilter {
    private final long maxBytes;

    public RequestSizeLimit(DataSize max) {
        this.maxBytes = max.toBytes();
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        long length = request.getContentLengthLong();
        if (length > maxBytes) {
            response.setStatus(413);
            response.setContentType("application/json");
            response.getOutputStream().write(("{\"error\":{\"message\":\"request body of " + length + " bytes exceeds the limit of "
                    + maxBytes + " bytes\",\"type\":\"invalid_request_error\"}}").getBytes(StandardCharsets.UTF_8));
            return;
        }
        chain.doFilter(request, response);
    }
}
