package dev.moeadapter.spring.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.util.UUID;

/**
 * Gives every API response an {@code x-request-id} header, as OpenAI's clients read it (their
 * {@code _request_id}, logged with an error): a fresh {@code req-} id from the start, so that a refusal
 * carries one too, which an answer replaces by its own id (the one feedback names).
 */
public class RequestIdHeader extends OncePerRequestFilter {
    /** The header's name. */
    public static final String NAME = "x-request-id";

    /** Names {@code response}'s request by the answer's {@code id}. */
    public static void answer(HttpServletResponse response, String id) {
        response.setHeader(NAME, id);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        response.setHeader(NAME, "req-" + UUID.randomUUID());
        chain.doFilter(request, response);
    }
}
