package dev.moeadapter.samples.load;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a load run saw.
 *
 * @param statuses                 HTTP statuses and how often each came back
 * @param busyWithoutRetryAfter    503 answers that lacked a Retry-After header
 * @param streamErrors             streams that carried an error event after their 200
 * @param transportErrors          requests that got no HTTP answer at all
 * @param byArm                    requests answered 200 per arm
 * @param rssFromKib               the server's resident memory when request {@code rssFrom} had completed, or -1 if unknown
 * @param rssEndKib                the server's resident memory at the end, or -1 if unknown
 */
public record LoadReport(int requests, int clients, double seconds, Map<Integer, Integer> statuses, int busyWithoutRetryAfter,
                         int streamErrors, int transportErrors, Map<String, Integer> byArm, long p50Ms, long p95Ms, int rssFrom,
                         long rssFromKib, long rssEndKib) {
    /** The most RSS may grow between request {@code rssFrom} and the end. */
    public static final double RSS_TOLERANCE = 0.05;

    /** RSS growth from request {@code rssFrom} to the end, as a fraction; NaN if not measured. */
    public double rssGrowth() {
        return rssFromKib <= 0 || rssEndKib <= 0 ? Double.NaN : (rssEndKib - rssFromKib) / (double) rssFromKib;
    }

    /** The broken promises: empty when the run passed. */
    public List<String> failures() {
        List<String> f = new ArrayList<>();
        statuses.forEach((status, n) -> {
            if (status != 200 && status != 503) {
                f.add(n + " answers with status " + status);
            }
        });
        if (busyWithoutRetryAfter > 0) {
            f.add(busyWithoutRetryAfter + " answers 503 without Retry-After");
        }
        if (streamErrors > 0) {
            f.add(streamErrors + " streams ended in an error event");
        }
        if (transportErrors > 0) {
            f.add(transportErrors + " requests got no answer");
        }
        if (rssGrowth() > RSS_TOLERANCE) {
            f.add(String.format("RSS grew %.1f%% from request %d to the end (%d -> %d KiB), over %.0f%%", 100 * rssGrowth(), rssFrom,
                    rssFromKib, rssEndKib, 100 * RSS_TOLERANCE));
        }
        return f;
    }

    /** One line for a log or a table. */
    public String summary() {
        return String.format("%d requests from %d clients in %.1f s (%.1f req/s); latency p50 %d ms, p95 %d ms; statuses %s "
                        + "(503 without Retry-After: %d); stream errors %d; no answer %d; by arm %s; RSS at request %d %s, at the end %s (%s)",
                requests, clients, seconds, requests / seconds, p50Ms, p95Ms, statuses, busyWithoutRetryAfter, streamErrors, transportErrors,
                byArm, rssFrom, mib(rssFromKib), mib(rssEndKib),
                Double.isNaN(rssGrowth()) ? "growth not measured" : String.format("growth %+.2f%%", 100 * rssGrowth()));
    }

    private static String mib(long kib) {
        return kib <= 0 ? "unknown" : String.format("%.1f MiB", kib / 1024.0);
    }
}
