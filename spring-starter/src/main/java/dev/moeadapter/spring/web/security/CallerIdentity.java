package dev.moeadapter.spring.web.security;

import jakarta.servlet.http.HttpServletRequest;

import java.net.InetAddress;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Who is calling, for sticky arm assignment and the rate limit: the value of the caller header
 * ({@code moe.adapter.caller-header}) on a request from a trusted proxy (a gateway that sets it;
 * from anyone else the header is whatever the client wants it to be, so it is ignored), else the
 * name of the API key that authenticated it ("key-N") when keys are configured, else nobody (null).
 * And from where: the client's address, which behind a trusted proxy is the one the proxy forwards
 * ({@link #address}).
 */
public final class CallerIdentity {
    private final String header;
    private final Set<InetAddress> trustedProxies;

    /** @param trustedProxies IP addresses as written in {@code moe.adapter.security.trusted-proxies} (checked there) */
    public CallerIdentity(String header, List<String> trustedProxies) {
        this.header = header;
        this.trustedProxies = trustedProxies.stream().map(p -> InetAddress.ofLiteral(p.strip())).collect(Collectors.toUnmodifiableSet());
    }

    public String header() {
        return header;
    }

    public String of(HttpServletRequest request) {
        if (fromTrustedProxy(request)) {
            String named = request.getHeader(header);
            if (named != null && !named.isBlank()) {
                return named;
            }
        }
        return request.getAttribute(ApiKeyAuthentication.CALLER) instanceof String key ? key : null;
    }

    /**
     * Whom a request counts against where callers share something (the rate limit, admission's
     * queue): the named caller (its name hashed, never stored as sent), else its address.
     */
    public String key(HttpServletRequest request) {
        String named = of(request);
        if (named != null) {
            return "caller-" + Base64.getUrlEncoder().withoutPadding().encodeToString(ApiKeyAuthentication.sha256(named));
        }
        return "address-" + address(request);
    }

    /**
     * The client's address, for what is counted per address (failed authentications, the rate limit
     * of unnamed callers): on a request from a trusted proxy, the last address of its
     * {@code X-Forwarded-For} (the one that proxy saw; earlier entries are the client's to write),
     * else the connection's peer.
     */
    public String address(HttpServletRequest request) {
        if (fromTrustedProxy(request)) {
            String forwarded = request.getHeader("X-Forwarded-For");
            if (forwarded != null && forwarded.length() <= 4096) {
                String last = forwarded.substring(forwarded.lastIndexOf(',') + 1).strip();
                try {
                    return InetAddress.ofLiteral(last).getHostAddress();
                } catch (IllegalArgumentException e) {
                    // not an address: the peer's own counts
                }
            }
        }
        return request.getRemoteAddr();
    }

    private boolean fromTrustedProxy(HttpServletRequest request) {
        if (trustedProxies.isEmpty()) {
            return false;
        }
        try {
            return trustedProxies.contains(InetAddress.ofLiteral(request.getRemoteAddr()));
        } catch (IllegalArgumentException e) {
            return false; // not an IP address (e.g. a Unix socket): not a configured proxy
        }
    }
}
