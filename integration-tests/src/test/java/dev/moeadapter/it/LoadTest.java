package dev.moeadapter.it;

import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A bounded load run: 8 concurrent clients send a few hundred short requests, mixed over both
 * OpenAI endpoints, plain and streamed, through the two sessions of the pool. No request may fail,
 * and the process's resident memory may not grow across the run beyond {@link #RSS_TOLERANCE_KIB}
 * once a warm-up of the same mix has sized the heap and the sessions.
 */
class LoadTest extends RunningService {
    private static final Logger LOG = LoggerFactory.getLogger(LoadTest.class);
    private static final int CLIENTS = 8;
    private static final int WARM_UP = 64;
    private static final int REQUESTS = 256;
    /** 48 MiB: a leak of one session (its KV cache and buffers) or ~150 KiB per request would exceed it. */
    private static final long RSS_TOLERANCE_KIB = 48 * 1024;

    @Test
    void eightClientsAFewHundredRequestsNoFailureAndNoGrowth() throws Exception {
        run(WARM_UP, new long[WARM_UP]);
        long before = settledResidentKib();
        long started = System.nanoTime();
        long[] latencies = new long[REQUESTS];
        Map<Integer, Integer> statuses = run(REQUESTS, latencies);
        double seconds = (System.nanoTime() - started) / 1e9;
        long after = settledResidentKib();
        Arrays.sort(latencies);
        LOG.info("load run: {} requests from {} clients in {} s ({} req/s), latency p50 {} ms, p95 {} ms; statuses {}; "
                        + "RSS before {} MiB, after {} MiB, growth {} KiB (tolerance {} KiB)",
                REQUESTS, CLIENTS, Math.round(seconds * 10) / 10.0, Math.round(REQUESTS / seconds),
                latencies[REQUESTS / 2] / 1_000_000, latencies[REQUESTS * 95 / 100] / 1_000_000, statuses,
                before / 1024, after / 1024, after - before, RSS_TOLERANCE_KIB);
        assertThat(statuses).containsOnlyKeys(200).containsEntry(200, REQUESTS);
        assertThat(after - before).as("RSS growth in KiB (before %d KiB, after %d KiB)", before, after)
                .isLessThan(RSS_TOLERANCE_KIB);
    }

    /** Sends {@code total} requests from {@link #CLIENTS} concurrent clients; counts the statuses, notes each latency. */
    private Map<Integer, Integer> run(int total, long[] latencies) throws Exception {
        Map<Integer, Integer> statuses = new ConcurrentHashMap<>();
        AtomicInteger next = new AtomicInteger();
        try (ExecutorService clients = Executors.newFixedThreadPool(CLIENTS)) {
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                done.add(clients.submit(() -> {
                    for (int i = next.getAndIncrement(); i < total; i = next.getAndIncrement()) {
                        long t = System.nanoTime();
                        HttpResponse<String> r = request(i);
                        latencies[i] = System.nanoTime() - t;
                        statuses.merge(r.statusCode(), 1, Integer::sum);
                        if (r.statusCode() != 200) {
                            LOG.warn("request {} answered {}: {}", i, r.statusCode(), r.body());
                        } else if (r.body().contains("\"error\"")) {
                            statuses.merge(-1, 1, Integer::sum); // a stream that failed after its 200
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        }
        return new TreeMap<>(statuses);
    }

    private HttpResponse<String> request(int i) throws IOException, InterruptedException {
        boolean stream = i % 2 == 1;
        String common = "\"model\":\"" + MODEL_ID + "\",\"max_tokens\":4,\"stream\":" + stream;
        return i % 4 < 2
                ? post("/v1/chat/completions", "{" + common + ",\"messages\":[{\"role\":\"user\",\"content\":\"Request " + i + "\"}]}")
                : post("/v1/completions", "{" + common + ",\"prompt\":\"Request " + i + " says\"}");
    }

    private static long settledResidentKib() throws IOException, InterruptedException {
        System.gc();
        Thread.sleep(200);
        return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmRSS:"))
                .map(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElseThrow();
    }
}
