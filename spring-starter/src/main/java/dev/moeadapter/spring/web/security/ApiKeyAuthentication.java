package dev.moeadapter.spring.web.security;

import dev.moeadapter.spring.MoeAdapterProperties;
import dev.moeadapter.spring.web.ApiErrors;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * Requires {@code Authorization: Bearer <key>} with one of the configured keys, as OpenAI's clients
 * send it. Keys are kept and compared as SHA-256 digests with {@link MessageDigest#isEqual}, every
 * key each time, so neither the time taken nor the logs tell anything about a key. A request that
 * passes carries the caller's name ("key-N", N its place in the configuration) for the rate limit.
 * Failures are limited per client address ({@link AuthFailures}; behind a trusted proxy, the address
 * it forwards: {@link CallerIdentity#address}).
 */
public class ApiKeyAuthentication extends OncePerRequestFilter {
    /** Request attribute naming the authenticated caller. */
    public static final String CALLER = ApiKeyAuthentication.class.getName() + ".caller";

    private static final String BEARER = "Bearer ";

    private final List<byte[]> digests;
    private final AuthFailures failures;

    private final CallerIdentity callers;

    public ApiKeyAuthentication(List<String> keys, MoeAdapterProperties.AuthFailures failures, CallerIdentity callers) {
        this.callers = callers;
        this.digests = keys.stream().map(ApiKeyAuthentication::sha256).toList();
        this.failures = new AuthFailures(failures);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String address = callers.address(request);
        if (failures.throttled(address)) {
            failures.log(address, request.getMethod(), request.getRequestURI(), "too many failed authentications");
            response.setHeader(HttpHeaders.RETRY_AFTER, Long.toString(Math.max(1, failures.period().toSeconds())));
            ApiErrors.write(response, HttpStatus.TOO_MANY_REQUESTS, "requests", "too_many_failed_authentications",
                    "too many requests with a wrong API key from this address; retry later");
            return;
        }
        String header = request.getHeader(HttpHeaders.AUTHORIZATION);
        if (header == null || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            refuse(request, response, "missing API key: send it as 'Authorization: Bearer <key>'");
            return;
        }
        byte[] presented = sha256(header.substring(BEARER.length()).strip());
        int match = -1;
        for (int i = 0; i < digests.size(); i++) {
            if (MessageDigest.isEqual(presented, digests.get(i))) {
                match = i;
            }
        }
        if (match < 0) {
            refuse(request, response, "incorrect API key provided");
            return;
        }
        request.setAttribute(CALLER, "key-" + (match + 1));
        chain.doFilter(request, response);
    }

    private void refuse(HttpServletRequest request, HttpServletResponse response, String reason) throws IOException {
        failures.failed(callers.address(request), request.getMethod(), request.getRequestURI(), reason);
        response.setHeader(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
        ApiErrors.write(response, HttpStatus.UNAUTHORIZED, "invalid_request_error", "invalid_api_key", reason);
    }

    static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
