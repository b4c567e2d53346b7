package dev.moeadapter.it;

import dev.moeadapter.samples.load.LoadReport;
import dev.moeadapter.samples.load.LoadRun;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * CI's bounded load run ({@code ./moe load} runs the long one): 8 concurrent clients send 300 short
 * requests between them, over every arm this service has without a reference set, plain and
 * streamed, over the native and both OpenAI endpoints, through the two sessions of the pool. No
 * request may fail, and the process's resident memory may not grow beyond {@link #RSS_TOLERANCE_KIB}
 * across the measured part, once a warm-up of the same mix has sized the heap and the sessions.
 */
class LoadTest extends RunningService {
    private static final Logger LOG = LoggerFactory.getLogger(LoadTest.class);
    private static final int CLIENTS = 8;
    private static final int WARM_UP = 60;
    private static final int REQUESTS = 240;
    private static final List<String> ARMS = List.of("none", "scmoe", "rerouting");
    private static final List<String> PROMPTS = List.of("Once upon a time", "The capital of France is", "Q: 2 plus 3 is? A:");
    /** 48 MiB: a leak of one session (its KV cache and buffers) or ~200 KiB per request would exceed it. */
    private static final long RSS_TOLERANCE_KIB = 48 * 1024;

    @Test
    void eightClientsAFewHundredRequestsNoFailureAndNoGrowth() throws Exception {
        run(WARM_UP);
        long before = settledResidentKib();
        LoadReport report = run(REQUESTS);
        long after = settledResidentKib();
        LOG.info("load run: {}; settled RSS before {} MiB, after {} MiB, growth {} KiB (tolerance {} KiB)", report.summary(),
                before / 1024, after / 1024, after - before, RSS_TOLERANCE_KIB);
        assertThat(report.statuses()).containsOnlyKeys(200).containsEntry(200, REQUESTS);
        assertThat(report.failures()).isEmpty();
        assertThat(report.byArm()).containsOnlyKeys(ARMS);
        assertThat(after - before).as("RSS growth in KiB (before %d KiB, after %d KiB)", before, after)
                .isLessThan(RSS_TOLERANCE_KIB);
    }

    private LoadReport run(int requests) throws InterruptedException {
        return new LoadRun(URI.create("http://127.0.0.1:" + port), MODEL_ID, ARMS, PROMPTS, CLIENTS, requests, 4, 1, () -> -1).run();
    }

    private static long settledResidentKib() throws IOException, InterruptedException {
        System.gc();
        Thread.sleep(200);
        return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmRSS:"))
                .map(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElseThrow();
    }
}
