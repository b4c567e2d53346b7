package dev.moeadapter.spring.web.security;

import jakarta.servlet.http.HttpServletRequest;

/**
 * Who is calling, for sticky arm assignment and the rate limit: the value of the caller header
 * ({@code moe.adapter.caller-header}) when the request carries one, else the name of the API key
 * that authenticated it ("key-N") when keys are configured, else nobody (null).
 *
 * @param header the caller header
 */
public record CallerIdentity(String header) {

    public String of(HttpServletRequest request) {
        String named = request.getHeader(header);
        if (named != null && !named.isBlank()) {
            return named;
        }
        return request.getAttribute(ApiKeyAuthentication.CALLER) instanceof String key ? key : null;
    }
}
