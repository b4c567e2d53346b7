package dev.moeadapter.samples.load;

import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A bounded load run against a service on a loopback address: {@code clients} concurrent clients
 * send {@code requests} requests between them, request i on arm {@code arms[i mod A]}, streamed
 * every other round of arms, over the native endpoint, chat completions and text completions in
 * turn, with prompts taken in turn from {@code prompts}. Counts every status, 503s without
 * Retry-After and streams that fail after their 200, and reads the server's resident memory when
 * request {@code rssFrom} has completed and at the end.
 */
public final class LoadRun {
    /** The most clients and requests a run may use: a load run is bounded. */
    public static final int MAX_CLIENTS = 64, MAX_REQUESTS = 100_000;
    private static final JsonMapper JSON = JsonMapper.shared();
    private static final Duration REQUEST_TIMEOUT = Duration.ofMinutes(5);

    private final URI base;
    private final String model;
    private final List<String> arms;
    private final List<String> prompts;
    private final int clients, requests, maxTokens, rssFrom;
    private final LongSupplier residentKib;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /**
     * @param base        the service, e.g. {@code http://127.0.0.1:8080}; loopback only
     * @param model       the served model's id (the OpenAI endpoints' {@code model})
     * @param residentKib the server's resident memory in KiB, or -1 where it cannot be read
     */
    public LoadRun(URI base, String model, List<String> arms, List<String> prompts, int clients, int requests, int maxTokens,
                   int rssFrom, LongSupplier residentKib) {
        requireLoopback(base);
        if (clients < 1 || clients > MAX_CLIENTS || requests < 1 || requests > MAX_REQUESTS || maxTokens < 1 || maxTokens > 64
                || rssFrom < 1 || rssFrom >= requests) {
            throw new IllegalArgumentException("clients 1.." + MAX_CLIENTS + ", requests 1.." + MAX_REQUESTS
                    + ", max tokens 1..64, RSS from 1..requests-1; got " + clients + ", " + requests + ", " + maxTokens + ", " + rssFrom);
        }
        if (arms.isEmpty() || prompts.isEmpty()) {
            throw new IllegalArgumentException("a load run needs arms and prompts");
        }
        this.base = base;
        this.model = model;
        this.arms = List.copyOf(arms);
        this.prompts = List.copyOf(prompts);
        this.clients = clients;
        this.requests = requests;
        this.maxTokens = maxTokens;
        this.rssFrom = rssFrom;
        this.residentKib = residentKib;
    }

    private static void requireLoopback(URI base) {
        try {
            if (!"http".equals(base.getScheme()) || base.getHost() == null || !InetAddress.getByName(base.getHost()).isLoopbackAddress()) {
                throw new IllegalArgumentException("a load run targets a loopback http address only, got " + base);
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot resolve " + base.getHost(), e);
        }
    }

    public LoadReport run() throws InterruptedException {
        Map<Integer, Integer> statuses = new ConcurrentHashMap<>();
        Map<String, Integer> byArm = new ConcurrentHashMap<>();
        AtomicInteger next = new AtomicInteger(), completed = new AtomicInteger();
        AtomicInteger busyWithoutRetryAfter = new AtomicInteger(), streamErrors = new AtomicInteger(), transportErrors = new AtomicInteger();
        AtomicLong rssAtFrom = new AtomicLong(-1);
        long[] latencies = new long[requests];
        long started = System.nanoTime();
        try (ExecutorService pool = Executors.newFixedThreadPool(clients)) {
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                done.add(pool.submit(() -> {
                    for (int i = next.getAndIncrement(); i < requests; i = next.getAndIncrement()) {
                        long t = System.nanoTime();
                        try {
                            HttpResponse<String> r = http.send(request(i), HttpResponse.BodyHandlers.ofString());
                            statuses.merge(r.statusCode(), 1, Integer::sum);
                            if (r.statusCode() == 503 && r.headers().firstValue("Retry-After").isEmpty()) {
                                busyWithoutRetryAfter.incrementAndGet();
                            }
                            if (r.statusCode() == 200) {
                                byArm.merge(arm(i), 1, Integer::sum);
                                if (stream(i) && (r.body().contains("\"error\"") || !r.body().endsWith("data: [DONE]\n\n"))) {
                                    streamErrors.incrementAndGet();
                                }
                            }
                        } catch (IOException e) {
                            transportErrors.incrementAndGet();
                        }
                        latencies[i] = System.nanoTime() - t;
                        if (completed.incrementAndGet() == rssFrom) {
                            rssAtFrom.set(residentKib.getAsLong());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } catch (ExecutionException e) {
            throw new IllegalStateException("a load client failed", e.getCause());
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        long end = residentKib.getAsLong();
        Arrays.sort(latencies);
        return new LoadReport(requests, clients, seconds, new TreeMap<>(statuses), busyWithoutRetryAfter.get(), streamErrors.get(),
                transportErrors.get(), new TreeMap<>(byArm), latencies[requests / 2] / 1_000_000, latencies[requests * 95 / 100] / 1_000_000,
                rssFrom, rssAtFrom.get(), end);
    }

    private String arm(int i) {
        return arms.get(i % arms.size());
    }

    private boolean stream(int i) {
        return (i / arms.size()) % 2 == 1;
    }

    /** Request i: its arm, streamed or not, and its endpoint in turn. */
    private HttpRequest request(int i) {
        String prompt = prompts.get(i % prompts.size());
        ObjectNode body = JSON.createObjectNode().put("max_tokens", maxTokens).put("arm", arm(i)).put("stream", stream(i));
        String path = switch ((i / (2 * arms.size())) % 3) {
            case 0 -> {
                body.put("prompt", prompt);
                yield "/v1/moe/generate";
            }
            case 1 -> {
                body.put("model", model).putArray("messages").addObject().put("role", "user").put("content", prompt);
                yield "/v1/chat/completions";
            }
            default -> {
                body.put("model", model).put("prompt", prompt);
                yield "/v1/completions";
            }
        };
        return HttpRequest.newBuilder(base.resolve(path)).timeout(REQUEST_TIMEOUT).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build();
    }
}
