package dev.moeadapter.spring;

import dev.moeadapter.core.engine.FlashAttention;
import dev.moeadapter.core.engine.KvCacheType;
import dev.moeadapter.core.engine.KvLayout;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.serving.routing.TraceLevel;
import dev.moeadapter.spring.web.WholeAnswerProbe;
import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.List;

/**
 * Settings of the MoE Adapter starter, under {@code moe.adapter}.
 *
 * @param model the GGUF file to serve
 * @param gpuLayers layers offloaded to a GPU backend (0 = CPU only, -1 = all)
 * @param mmap map the model file instead of reading it
 * @param threads CPU threads per session (0 = the available processors divided among the sessions, at
 *                least one); more than the processors over all sessions is warned about at startup
 * @param contextSize tokens of context per sequence (prompt + answer); a session holds this for each
 *                    sequence the configured arms need (SCMoE: two; rerouting: 2 + 2q, ten by default)
 * @param batchSize most tokens per decode
 * @param flashAttention {@code auto} (llama.cpp decides: on for the CPU), {@code on} or {@code off}
 * @param kvCacheType {@code f16} (llama.cpp's default) or {@code f32} (twice the memory). With flash attention
 *                    off and an f32 cache, a request's logits stay within about 2e-6 of their scale however
 *                    many other requests share its decode steps (with llama.cpp's defaults, up to about 3.4%),
 *                    at a cost in throughput (docs/benchmarks.md)
 * @param kvLayout {@code unified} (one KV cache a context's sequences share) or {@code per-sequence} (a
 *                 stream of {@code context-size} cells per sequence, as llama.cpp's server keeps per slot: a
 *                 row's attention reads only its own sequence's cells, which makes continuous batching's
 *                 steps cheaper; prefix reuse then shares only whole kept prompts, from a request's start);
 *                 unset: {@code per-sequence} with continuous batching (in one cache of every lane's and kept
 *                 prompt's cells, each row's attention spans all of them: a long prompt decoded 8× slower),
 *                 else {@code unified} (a session's cache holds one request's sequences)
 * @param sessions concurrent requests (one llama.cpp context each; 0 = as many as fit the available
 *                 processors at {@code threads} each, at most 2)
 * @param wideSessions sessions that hold as many sequences as the most demanding configured arm needs
 *                     (rerouting's 2 + 2q, C3PO's neighbour evaluations); the others hold two (a plain answer
 *                     uses one, SCMoE two), and every sequence's {@code context-size} KV cells are allocated
 *                     at start, so this bounds the sessions' memory. A request whose arm needs more waits for
 *                     a wide session in a queue of its own; unset: a quarter of the sessions, at least one
 * @param batchingLanes continuous batching: when above 0, instead of {@code sessions} contexts, one
 *                      context whose decode loop batches the rows of up to this many concurrent
 *                      requests per step, each in its own lane of sequences, with {@code threads} (by
 *                      default every processor's) for a step of many rows and one processor fewer, at
 *                      least one, for a step of a single row, which leaves the JVM a processor to stream
 *                      on (0, the default: one context per concurrent request)
 * @param batchingWideLanes with continuous batching, lanes that may hold more than two sequences at once
 *                          (rerouting's perturbed copies, C3PO's neighbour evaluations; a plain answer holds
 *                          one, SCMoE two); every sequence is a KV stream of {@code context-size} cells
 *                          allocated at start, so this bounds the loop's memory. A request whose arm needs
 *                          more waits for a wide lane in a queue of its own, as for a lane; unset: a quarter
 *                          of the lanes, at least one (at most {@code batching-lanes})
 * @param batchingLaneRows with continuous batching, most rows one request adds to a decode step (at least
 *                         one per sequence of a lane): prompts, perturbed copies and neighbour
 *                         evaluations are decoded in chunks of this many, so an adapting request
 *                         delays the others' next token by at most this many rows
 * @param batchingPrefixes with continuous batching, recent prompts kept (a sequence of
 *                         {@code context-size} cells each) whose KV cells a request whose prompt starts
 *                         the same way shares instead of decoding them again (0: no prefix reuse); SCMoE's
 *                         weak view reads its prompt under its own routing and keeps it in a slot of its
 *                         own, which never displaces a plain prompt: with SCMoE traffic, count each
 *                         prompt twice
 * @param acquireTimeout how long a request waits for a free session before it is refused
 * @param maxWaiting most requests waiting for a free session at once (each holds a connection and a request
 *                   thread: without virtual threads keep it well below {@code server.tomcat.threads.max});
 *                   in a full queue a newcomer takes the place of the latest request of a caller with at
 *                   least two more waiting than its own, or is refused
 * @param streamTimeout longest an answer may take, streamed (server-sent events) or not: at that point
 *                      its generation stops and the answer ends where it is, as one whose time budget ran
 *                      out ({@code finish_reason: "time_budget"}, on the OpenAI endpoints {@code "length"})
 * @param streamKeepAlive how long a streamed answer stays silent before a comment line is sent, which
 *                        also finds a client that left (its generation is then cancelled)
 * @param wholeAnswerProbe which whole (not streamed) answers send their 200 with the first token and a
 *                         space per token after it, so that a client that left stops its generation within a
 *                         token: {@code native} (the default: the native endpoint; the OpenAI-compatible ones
 *                         send status and body when the answer is done, as OpenAI does, so that a client's
 *                         timeout covers the whole request and a late failure has its own status), {@code all}
 *                         or {@code none}; an answer that does not probe finds a client that left by reading its
 *                         connection (HTTP/1.1) instead
 * @param sampling defaults for requests that do not say
 * @param limits what a request may ask for
 * @param c3po C3PO (with the c3po module on the classpath and a reference set named)
 * @param steeringDirectory where the steering files that a {@code steer} arm's {@code file} setting
 *                          names are read from (by name only; unset: the setting is refused)
 * @param callerHeader the request header whose value (a user or tenant id) names the caller: it keeps a
 *                     caller on one arm of a policy (the arm is chosen by hashing it) and is what the
 *                     rate limit counts by. Read only on requests from {@code security.trusted-proxies}
 *                     (a gateway that sets it); otherwise an API key names the caller when keys are
 *                     configured, else the arm is drawn at random by weight
 * @param defaultPolicy the policy for requests that name none; may be left out when there is one policy
 * @param selectablePolicies policies other than the default one that a request may name with {@code "policy"}
 *                           (default: none)
 * @param policies A/B policies by name; without any, one policy "default" serves the plain arm "none"
 *                 and lets a request name any other adaptation as its arm
 * @param guards bulkhead wait, time budgets and circuit breakers
 * @param feedback how long answers can be credited
 * @param resultCache the adaptation-result cache (`result-cache`; not `cache`, which the build's MOE_ADAPTER_CACHE variable would bind to)
 * @param security who may call the endpoints under /v1 and how often
 */
@Validated
@ConfigurationProperties("moe.adapter")
public record MoeAdapterProperties(
        @NotNull Path model,
        @DefaultValue("0") @Min(-1) int gpuLayers,
        @DefaultValue("true") boolean mmap,
        @DefaultValue("0") @Min(0) @Max(SessionParams.MAX_THREADS) int threads,
        @DefaultValue("4096") @Min(64) @Max(MAX_CONTEXT_SIZE) int contextSize,
        @DefaultValue("512") @Min(2) int batchSize,
        @DefaultValue("auto") @NotNull FlashAttention flashAttention,
        @DefaultValue("f16") @NotNull KvCacheType kvCacheType,
        KvLayout kvLayout,
        @DefaultValue("0") @Min(0) @Max(64) int sessions,
        @Min(1) @Max(64) Integer wideSessions,
        @DefaultValue("0") @Min(0) @Max(64) int batchingLanes,
        @Min(1) @Max(64) Integer batchingWideLanes,
        @DefaultValue("64") @Min(1) @Max(4096) int batchingLaneRows,
        @DefaultValue("2") @Min(0) @Max(64) int batchingPrefixes,
        @DefaultValue("30s") @NotNull Duration acquireTimeout,
        @DefaultValue("64") @Min(0) @Max(100_000) int maxWaiting,
        @DefaultValue("10m") @NotNull Duration streamTimeout,
        @DefaultValue("1s") @NotNull Duration streamKeepAlive,
        @DefaultValue("native") WholeAnswerProbe wholeAnswerProbe,
        @DefaultValue @Valid Sampling sampling,
        @DefaultValue @Valid Limits limits,
        @DefaultValue @Valid C3po c3po,
        Path steeringDirectory,
        @DefaultValue("X-Caller-Id") @NotBlank String callerHeader,
        String defaultPolicy,
        @DefaultValue List<@NotBlank String> selectablePolicies,
        Map<String, @Valid Policy> policies,
        @DefaultValue @Valid Guards guards,
        @DefaultValue @Valid Feedback feedback,
        @DefaultValue @Valid Cache resultCache,
        @DefaultValue @Valid Security security) {

    /** The largest context per sequence: a million tokens, beyond any model's training, and times 256 sequences still an int. */
    public static final int MAX_CONTEXT_SIZE = 1 << 20;

    public MoeAdapterProperties {
        requirePositive("moe.adapter.stream-keep-alive", streamKeepAlive);
        requirePositive("moe.adapter.acquire-timeout", acquireTimeout);
        policies = policies == null ? Map.of() : policies;
    }

    /**
     * Sampling defaults; temperature 0 is greedy.
     *
     * @param maxTokens tokens to generate when a request does not say
     * @param temperature sampling temperature (0 = greedy)
     * @param topK keep the k most likely tokens (0 = off)
     * @param topP keep the smallest set of tokens whose probability reaches p (1 = off)
     * @param minP drop tokens less likely than p times the most likely one (0 = off)
     */
    public record Sampling(
            @DefaultValue("256") @Min(1) int maxTokens,
            @DefaultValue("0") @DecimalMin("0") @DecimalMax("100") double temperature,
            @DefaultValue("0") @Min(0) int topK,
            @DefaultValue("1") @DecimalMin(value = "0", inclusive = false) @DecimalMax("1") double topP,
            @DefaultValue("0") @DecimalMin("0") @DecimalMax("1") double minP) {
    }

    /**
     * Request limits.
     *
     * @param maxTokens most tokens one request may ask to generate
     * @param maxRequestSize largest request body, with or without a Content-Length header (413 above it)
     * @param maxRoutingTrace largest routing trace one answer may carry, counted as its arrays before
     *                        base64 for prompt + max_tokens rows (a request that could exceed it gets 400)
     */
    public record Limits(
            @DefaultValue("4096") @Min(1) int maxTokens,
            @DefaultValue("1MB") @NotNull DataSize maxRequestSize,
            @DefaultValue("4MB") @NotNull DataSize maxRoutingTrace) {

        public Limits {
            if (maxRequestSize != null && maxRequestSize.toBytes() <= 0) {
                throw new IllegalArgumentException("moe.adapter.limits.max-request-size must be positive, got " + maxRequestSize);
            }
            if (maxRoutingTrace != null && maxRoutingTrace.toBytes() < 0) {
                throw new IllegalArgumentException("moe.adapter.limits.max-routing-trace must be >= 0, got " + maxRoutingTrace);
            }
        }
    }

    /**
     * C3PO; the strategy "c3po" exists when {@code reference-set} names a file built with
     * {@code c3po-build} for the served model. The other properties are c3po's settings, under the
     * same names and with the same types, ranges and defaults as an arm's ({@code docs/settings.md});
     * unset ones take the method's defaults.
     *
     * @param referenceSet the reference set file
     * @param embeddingModelName with an application's Spring AI EmbeddingModel, the name recorded as the
     *                           embedding space of reference sets (default: the bean's class name)
     * @param neighbours no longer read: the setting is {@code k}, as arms and requests spell it
     */
    public record C3po(
            Path referenceSet,
            String algorithm,
            String k,
            String bandwidth,
            String duplicateSimilarity,
            String criticalLayers,
            String coreExperts,
            String minReferences,
            String steps,
            String q,
            String lossTokens,
            String inject,
            String embeddingModelName,
            String neighbours) {
        public C3po {
            if (neighbours != null) {
                throw new IllegalArgumentException("moe.adapter.c3po.neighbours is spelled moe.adapter.c3po.k, as the c3po setting is "
                        + "(docs/settings.md)");
            }
        }

        /** The c3po settings these properties give, by the setting's name. */
        public Map<String, String> settings() {
            Map<String, String> m = new java.util.LinkedHashMap<>();
            String[][] named = {{"algorithm", algorithm}, {"k", k}, {"bandwidth", bandwidth}, {"duplicate-similarity", duplicateSimilarity},
                    {"critical-layers", criticalLayers}, {"core-experts", coreExperts}, {"min-references", minReferences},
                    {"steps", steps}, {"q", q}, {"loss-tokens", lossTokens}, {"inject", inject}};
            for (String[] n : named) {
                if (n[1] != null) {
                    m.put(n[0], n[1]);
                }
            }
            return m;
        }
    }

    /**
     * A/B policy: named arms, each an adaptation with a weight.
     *
     * @param allowOverride whether a request may name its arm ({@code "arm"}) or send its own settings
     *                      ({@code "settings"}); if not, such a request is refused with 403
     * @param arms          the arms by name
     */
    public record Policy(@DefaultValue("false") boolean allowOverride, @NotEmpty Map<String, @Valid Arm> arms) {
    }

    /**
     * One arm of a policy.
     *
     * @param adaptation the adaptation strategy it runs (none, scmoe, c3po, rerouting, … as present)
     * @param weight     its share of the callers, relative to the other arms' weights (0: only on request)
     * @param settings   settings passed to the strategy, e.g. {@code beta: 0.5} for scmoe
     * @param timeBudget longest a request on the arm may run its adaptation, every round included: an
     *                   overrun before the first token is answered by plain generation, one after it
     *                   ends the answer there (default {@code guards.time-budget})
     * @param routingTrace how much of its routing a request may read ({@code routing_trace}) where the
     *                     policy allows no overrides: none (default), experts, probabilities
     */
    public record Arm(@NotBlank String adaptation, @DefaultValue("1") @DecimalMin("0") double weight,
                      Map<String, String> settings, Duration timeBudget, @DefaultValue("none") TraceLevel routingTrace) {
        public Arm {
            settings = settings == null ? Map.of() : settings;
        }
    }

    /**
     * Resilience settings.
     *
     * @param timeBudget default time budget of an adapting arm (see {@link Arm#timeBudget()})
     * @param breaker    the circuit breaker each adapting arm has
     */
    public record Guards(@DefaultValue("30s") @NotNull Duration timeBudget, @DefaultValue @Valid Breaker breaker) {
        public Guards {
            requirePositive("moe.adapter.guards.time-budget", timeBudget);
        }
    }

    /** Refuses a zero or negative duration, naming the property (Bean Validation has no duration constraint). */
    static void requirePositive(String property, Duration d) {
        if (d != null && (d.isNegative() || d.isZero())) {
            throw new IllegalArgumentException(property + " must be positive, got " + d);
        }
    }

    /**
     * A circuit breaker per adapting arm: when its adaptation fails (an error, or its time budget
     * overrun) in {@code failureRate} percent of the last {@code window} calls, the arm's traffic gets
     * plain generation for {@code waitInOpen}; then {@code halfOpenCalls} trial calls decide whether
     * it closes again.
     *
     * @param failureRate   percentage of failed calls that opens the breaker
     * @param window        calls the failure rate is computed over
     * @param minimumCalls  calls needed before the failure rate counts
     * @param waitInOpen    how long an open breaker sends the arm's traffic to plain generation
     * @param halfOpenCalls trial calls after the wait that decide whether the breaker closes
     */
    public record Breaker(@DefaultValue("50") @DecimalMin(value = "0", inclusive = false) @DecimalMax("100") float failureRate,
                          @DefaultValue("20") @Min(1) int window, @DefaultValue("5") @Min(1) int minimumCalls,
                          @DefaultValue("30s") @NotNull Duration waitInOpen, @DefaultValue("2") @Min(1) int halfOpenCalls) {
    }

    /**
     * @param retention  how long after an answer its request id can be credited with feedback
     * @param maxEntries most answers remembered for feedback where outcomes are kept in memory (no DataSource);
     *                   beyond it, some are forgotten early. A database keeps every answer.
     */
    public record Feedback(@DefaultValue("24h") @NotNull Duration retention, @DefaultValue("100000") @Min(1) long maxEntries) {
    }

    /**
     * @param maxEntries       most adaptation results kept
     * @param expireAfterAccess an unused result is dropped after this long
     */
    public record Cache(@DefaultValue("10000") @Min(0) long maxEntries, @DefaultValue("1h") @NotNull Duration expireAfterAccess) {
    }

    /**
     * Access to the endpoints under {@code /v1}.
     *
     * @param apiKeys        keys a client must send as "Authorization: Bearer KEY"; empty = no authentication
     * @param rateLimit      requests per caller and period
     * @param authFailures   failed authentications per client address and period; beyond them the address
     *                       gets 429 without its key being checked (and one log line per period)
     * @param trustedProxies addresses (e.g. 10.0.0.5, ::1) of gateways whose {@code caller-header} is
     *                       believed; from any other address the header is ignored
     * @param publicPolicies whether {@code GET /v1/moe/policies} answers without API keys configured
     *                       (with keys it answers any authenticated caller)
     * @param corsOrigins    web origins (e.g. https://app.example.com, or * for any) whose pages may call
     *                       {@code /v1} from a browser (CORS); empty = none but the service's own
     */
    public record Security(
            @DefaultValue List<@NotBlank String> apiKeys,
            @DefaultValue @Valid RateLimit rateLimit,
            @DefaultValue @Valid AuthFailures authFailures,
            @DefaultValue List<@NotBlank String> trustedProxies,
            @DefaultValue("false") boolean publicPolicies,
            @DefaultValue List<@NotBlank String> corsOrigins) {

        public Security {
            for (String proxy : trustedProxies == null ? List.<String>of() : trustedProxies) {
                try {
                    InetAddress.ofLiteral(proxy.strip());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("moe.adapter.security.trusted-proxies: '" + proxy + "' is not an IP address");
                }
            }
        }

        /** Never shows the keys (this record may end up in a log or an error message). */
        @Override
        public String toString() {
            return "Security[apiKeys=" + apiKeys.size() + " configured, rateLimit=" + rateLimit + ", authFailures=" + authFailures
                    + ", trustedProxies=" + trustedProxies + ", publicPolicies=" + publicPolicies + ", corsOrigins=" + corsOrigins + "]";
        }
    }

    /**
     * A limit on requests per caller: the value of {@code caller-header} when the request carries it,
     * else the API key when keys are configured, else the client's address.
     *
     * @param requests requests a caller may make per period (0 = no limit)
     * @param period length of one period
     */
    public record RateLimit(
            @DefaultValue("0") @Min(0) int requests,
            @DefaultValue("1m") @NotNull Duration period) {

        public RateLimit {
            requirePositive("moe.adapter.security.rate-limit.period", period);
        }
    }

    /**
     * Failed authentications allowed per client address and period.
     *
     * @param requests failures an address may have per period
     * @param period   length of one period
     */
    public record AuthFailures(@DefaultValue("10") @Min(1) int requests, @DefaultValue("1m") @NotNull Duration period) {
        public AuthFailures {
            requirePositive("moe.adapter.security.auth-failures.period", period);
        }
    }

    /** The KV layout: as configured, else a stream per sequence with continuous batching and one cache per session without. */
    public KvLayout effectiveKvLayout() {
        return kvLayout != null ? kvLayout : batchingLanes > 0 ? KvLayout.PER_SEQUENCE : KvLayout.UNIFIED;
    }

    /** Wide lanes when not configured: a quarter of the lanes, at least one; never more than the lanes. */
    public int effectiveBatchingWideLanes() {
        return Math.min(batchingLanes, batchingWideLanes != null ? batchingWideLanes : Math.max(1, (batchingLanes + 3) / 4));
    }

    /** Wide sessions when not configured: a quarter of the {@code sessions}, at least one; never more than they. */
    public int effectiveWideSessions(int sessions) {
        return Math.min(sessions, wideSessions != null ? wideSessions : Math.max(1, (sessions + 3) / 4));
    }

    /** Sessions when not configured: as many as fit the processors at the configured threads each, at most two. */
    public int effectiveSessions(int processors) {
        return sessions > 0 ? sessions : Math.clamp(processors / Math.max(1, threads), 1, 2);
    }

    /** Threads per session when not configured: the processors shared among the sessions, at least one. */
    public int effectiveThreads(int processors) {
        return threads > 0 ? threads : Math.max(1, processors / effectiveSessions(processors));
    }
}
