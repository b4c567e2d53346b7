package dev.moeadapter.bench;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A bounded loopback load of streaming clients against any OpenAI-compatible completions endpoint
 * (this service's, or llama.cpp's {@code llama-server}): {@code clients} clients, each sending
 * {@code requests} streamed {@code /v1/completions} requests one after the other. Measures aggregate
 * output tokens per second (the completion tokens of each answer's usage chunk, which both servers
 * send with {@code stream_options.include_usage}), time to first token and the gaps between content
 * chunks (inter-token latency, p50 / p99; a chunk holding a character of several tokens is one
 * longer gap), per arm when clients are split between arms.
 *
 * <p>{@code StreamingLoad --url http://127.0.0.1:PORT --model ID --clients 8 --requests 4 --max-tokens 64
 * [--arms none:4,scmoe:4] [--extra '{"ignore_eos":true}'] [--prefix TEXT] [--label NAME] [--round N] [--pid P]} prints one JSON line.
 * {@code --prefix} goes before every prompt, as a system prompt all requests share. With {@code --pid} (the server's
 * process) the line holds the CPU seconds the server used meanwhile ({@link ServerCpu}); where the server is this
 * service with continuous batching, its decode loop's figures meanwhile too (from {@code GET /v1/moe/info}: steps,
 * rows, and the loop thread's time in steps and stalled waiting for a request's thread).
 */
public final class StreamingLoad {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] PROMPTS = {"Once upon a time, in a land far away,", "The quick brown fox jumps over",
            "In the beginning there was", "A short story about a robot who", "Here is a list of things to do today:",
            "The history of the printing press begins", "My favourite recipe starts with", "Dear diary, today I learned"};

    private StreamingLoad() {}

    /** One request's timings, in nanoseconds from its start. */
    record Timed(String arm, long firstToken, long[] gaps, int tokens, long total, String error) {
        Timed withArm(String name) {
            return new Timed(name, firstToken, gaps, tokens, total, error);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = Flags.parse(args);
        URI url = URI.create(a.get("url") + "/v1/completions");
        String model = a.getOrDefault("model", "model");
        int clients = Flags.integer(a, "clients", 8), requests = Flags.integer(a, "requests", 4);
        int maxTokens = Flags.integer(a, "max-tokens", 64);
        JsonNode extra = JSON.readTree(a.getOrDefault("extra", "{}"));
        String prefix = a.getOrDefault("prefix", "");
        List<String> arms = new ArrayList<>();
        for (String part : a.getOrDefault("arms", "").split(",")) {
            if (!part.isBlank()) {
                String[] kv = part.split(":");
                for (int i = 0; i < Integer.parseInt(kv[1]); i++) {
                    arms.add(kv[0]);
                }
            }
        }
        while (arms.size() < clients) {
            arms.add(null);
        }
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        // one warm-up request, not counted
        run(http, url, body(model, prefix + PROMPTS[0], 4, null, extra));
        List<Timed> all = new ArrayList<>();
        long pid = a.containsKey("pid") ? Long.parseLong(a.get("pid")) : -1;
        ServerCpu cpuBefore = pid > 0 ? ServerCpu.of(pid) : null;
        JsonNode loopBefore = loop(http, a.get("url"));
        long t0 = System.nanoTime();
        try (ExecutorService pool = Executors.newFixedThreadPool(clients)) {
            List<Future<List<Timed>>> futures = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                String arm = arms.get(c);
                futures.add(pool.submit(() -> {
                    List<Timed> mine = new ArrayList<>();
                    for (int r = 0; r < requests; r++) {
                        String prompt = prefix + PROMPTS[(client * requests + r) % PROMPTS.length];
                        mine.add(run(http, url, body(model, prompt, maxTokens, arm, extra)).withArm(arm));
                    }
                    return mine;
                }));
            }
            for (Future<List<Timed>> f : futures) {
                all.addAll(f.get());
            }
        }
        long wall = System.nanoTime() - t0;
        ServerCpu cpuAfter = pid > 0 ? ServerCpu.of(pid) : null;
        JsonNode loopAfter = loop(http, a.get("url"));
        ObjectNode out = JSON.createObjectNode();
        out.put("label", a.getOrDefault("label", ""));
        out.put("round", Flags.integer(a, "round", 1));
        out.put("clients", clients);
        out.put("requests", all.size());
        out.put("wall_s", wall / 1e9);
        summarise(out, all, wall);
        if (cpuBefore != null && cpuAfter != null) {
            ServerCpu used = cpuAfter.minus(cpuBefore);
            out.put("server_cpu_s", used.all());
            out.put("server_jit_cpu_s", used.jit());
        }
        if (loopBefore != null && loopAfter != null) {
            ObjectNode o = out.putObject("loop");
            for (String f : List.of("steps", "rows", "busy_ms", "stalled_ms", "picks_unclaimed")) {
                o.put(f, loopAfter.path(f).asLong() - loopBefore.path(f).asLong());
            }
        }
        List<String> distinct = arms.stream().distinct().toList();
        if (distinct.size() > 1) {
            ObjectNode per = out.putObject("arms");
            for (String arm : distinct) {
                List<Timed> of = all.stream().filter(t -> Objects.equals(t.arm(), arm)).toList();
                long armClients = arms.stream().filter(x -> Objects.equals(x, arm)).count();
                ObjectNode o = per.putObject(arm == null ? "default" : arm);
                o.put("clients", armClients);
                summarise(o, of, wall);
                o.put("tokens_per_s_per_client", o.get("tokens_per_s").asDouble() / armClients);
            }
        }
        System.out.println(JSON.writeValueAsString(out));
    }

    /** This service's decode-loop figures ({@code GET /v1/moe/info} → {@code batching}), or null for another server or none. */
    private static JsonNode loop(HttpClient http, String base) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/moe/info")).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode batching = r.statusCode() == 200 ? JSON.readTree(r.body()).path("batching") : null;
            return batching != null && batching.has("busy_ms") ? batching : null;
        } catch (IOException | RuntimeException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static void summarise(ObjectNode out, List<Timed> timed, long wall) {
        long tokens = timed.stream().mapToLong(Timed::tokens).sum();
        long errors = timed.stream().filter(t -> t.error() != null).count();
        long[] ttft = timed.stream().filter(t -> t.firstToken() >= 0).mapToLong(Timed::firstToken).sorted().toArray();
        long[] gaps = timed.stream().flatMapToLong(t -> Arrays.stream(t.gaps())).sorted().toArray();
        out.put("tokens", tokens);
        out.put("errors", errors);
        timed.stream().filter(t -> t.error() != null).findFirst().ifPresent(t -> out.put("first_error", t.error()));
        out.put("tokens_per_s", tokens / (wall / 1e9));
        out.put("ttft_p50_ms", percentile(ttft, 0.50));
        out.put("ttft_p99_ms", percentile(ttft, 0.99));
        out.put("itl_p50_ms", percentile(gaps, 0.50));
        out.put("itl_p99_ms", percentile(gaps, 0.99));
    }

    private static double percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
        return Math.round(sorted[Math.max(0, i)] / 1e4) / 100.0;
    }

    private static String body(String model, String prompt, int maxTokens, String arm, JsonNode extra) {
        ObjectNode b = JSON.createObjectNode();
        b.put("model", model);
        b.put("prompt", prompt);
        b.put("max_tokens", maxTokens);
        b.put("temperature", 0);
        b.put("stream", true);
        b.putObject("stream_options").put("include_usage", true);
        if (arm != null) {
            b.put("arm", arm);
        }
        extra.properties().forEach(e -> b.set(e.getKey(), e.getValue()));
        return b.toString();
    }

    private static Timed run(HttpClient http, URI url, String body) {
        long start = System.nanoTime(), last = -1, first = -1;
        List<Long> gaps = new ArrayList<>();
        int tokens = 0, chunks = 0;
        try {
            HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(url).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                if (r.statusCode() != 200) {
                    return new Timed(null, -1, new long[0], 0, System.nanoTime() - start, "HTTP " + r.statusCode() + ": " + in.readLine());
                }
                String line;
                while ((line = in.readLine()) != null) {
                    if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                        continue;
                    }
                    JsonNode chunk = JSON.readTree(line.substring(6));
                    if (chunk.has("error")) {
                        return new Timed(null, first, toArray(gaps), chunks, System.nanoTime() - start, chunk.get("error").toString());
                    }
                    if (chunk.path("usage").has("completion_tokens")) {
                        tokens = chunk.path("usage").get("completion_tokens").asInt();
                    }
                    JsonNode choices = chunk.path("choices");
                    if (choices.isEmpty() || choices.get(0).path("text").asString("").isEmpty()) {
                        continue;
                    }
                    long now = System.nanoTime();
                    if (first < 0) {
                        first = now - start;
                    } else {
                        gaps.add(now - last);
                    }
                    last = now;
                    chunks++;
                }
            }
            return new Timed(null, first, toArray(gaps), Math.max(tokens, chunks), System.nanoTime() - start, null);
        } catch (Exception e) {
            return new Timed(null, first, toArray(gaps), chunks, System.nanoTime() - start, e.toString());
        }
    }

    private static long[] toArray(List<Long> values) {
        return values.stream().mapToLong(Long::longValue).toArray();
    }
}
