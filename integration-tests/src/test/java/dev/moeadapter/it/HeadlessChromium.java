package dev.moeadapter.it;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Debian's chromium, headless, driven over the DevTools protocol on the JDK's own WebSocket client
 * (no driver, no browser library). {@link #start} finds the browser, or installs it with apt-get,
 * and fails with the reason when it can do neither: a browser test never skips silently.
 */
final class HeadlessChromium implements AutoCloseable {
    private static final JsonMapper JSON = JsonMapper.shared();
    private static final Pattern LISTENING = Pattern.compile("DevTools listening on (ws://[^/]+)/");
    private static final List<String> NAMES = List.of("chromium", "chromium-browser", "google-chrome");

    private final Process process;
    private final Path profile;
    private final WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();

    private HeadlessChromium(Process process, Path profile, WebSocket socket) {
        this.process = process;
        this.profile = profile;
        this.socket = socket;
    }

    static HeadlessChromium start() throws Exception {
        Path binary = find();
        Path profile = Files.createTempDirectory("moe-chromium");
        Process p = new ProcessBuilder(binary.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--window-size=1600,1000", "--remote-debugging-port=0", "--user-data-dir=" + profile, "about:blank")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String origin = null;
        BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
        StringBuilder said = new StringBuilder();
        for (String line = err.readLine(); line != null; line = err.readLine()) {
            said.append(line).append('\n');
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                origin = m.group(1).replace("ws://", "http://");
                break;
            }
        }
        if (origin == null) {
            p.destroyForcibly();
            throw new AssertionError(binary + " did not open its DevTools port:\n" + said);
        }
        Thread.ofVirtual().start(() -> err.lines().forEach(l -> { })); // keep its stderr drained
        HttpClient http = HttpClient.newHttpClient();
        JsonNode targets = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(origin + "/json/list")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        String page = null;
        for (JsonNode t : targets) {
            if ("page".equals(t.get("type").asString())) {
                page = t.get("webSocketDebuggerUrl").asString();
            }
        }
        if (page == null) {
            p.destroyForcibly();
            throw new AssertionError("chromium opened no page: " + targets);
        }
        HeadlessChromium[] self = new HeadlessChromium[1];
        WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create(page), new WebSocket.Listener() {
            private final StringBuilder message = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                message.append(data);
                if (last) {
                    self[0].received(JSON.readTree(message.toString()));
                    message.setLength(0);
                }
                w.request(1);
                return null;
            }
        }).get(10, TimeUnit.SECONDS);
        self[0] = new HeadlessChromium(p, profile, ws);
        return self[0];
    }

    /** The browser on the PATH, else the one apt-get installs; an AssertionError saying why when there is none. */
    private static Path find() throws Exception {
        Path found = onPath();
        if (found != null) {
            return found;
        }
        Process install = new ProcessBuilder("sh", "-c", "apt-get update && apt-get install -y chromium").redirectErrorStream(true).start();
        String log = new String(install.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        found = install.waitFor() == 0 ? onPath() : null;
        if (found == null) {
            throw new AssertionError("no headless browser for the inspector test: none of " + NAMES + " is on the PATH and "
                    + "'apt-get install -y chromium' failed:\n" + log.lines().skip(Math.max(0, log.lines().count() - 20)).toList());
        }
        return found;
    }

    private static Path onPath() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            for (String name : NAMES) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    private void received(JsonNode message) {
        if (message.has("id")) {
            CompletableFuture<JsonNode> f = pending.remove(message.get("id").asInt());
            if (f != null) {
                f.complete(message);
            }
        }
    }

    /** Sends a DevTools command and returns its result; a protocol error fails. */
    JsonNode send(String method, Map<String, Object> params, Duration timeout) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        pending.put(id, answer);
        ObjectNode command = JSON.createObjectNode().put("id", id).put("method", method);
        command.set("params", JSON.valueToTree(params));
        socket.sendText(JSON.writeValueAsString(command), true).get(10, TimeUnit.SECONDS);
        JsonNode reply = answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (reply.has("error")) {
            throw new AssertionError(method + " failed: " + reply.get("error"));
        }
        return reply.get("result");
    }

    /** Evaluates JavaScript in the page (awaiting a promise) and returns its value; an exception in the page fails. */
    JsonNode evaluate(String expression, Duration timeout) throws Exception {
        JsonNode r = send("Runtime.evaluate", Map.of("expression", expression, "awaitPromise", true, "returnByValue", true), timeout);
        if (r.has("exceptionDetails")) {
            throw new AssertionError("in the page: " + r.get("exceptionDetails"));
        }
        return r.get("result").get("value");
    }

    /** The page as PNG, all of it. */
    byte[] screenshot() throws Exception {
        JsonNode r = send("Page.captureScreenshot", Map.of("format", "png", "captureBeyondViewport", true), Duration.ofSeconds(30));
        return Base64.getDecoder().decode(r.get("data").asString());
    }

    @Override
    public void close() throws IOException {
        socket.abort();
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Chromium's helper processes may still remove their own files while the profile is deleted: a file gone is fine
        Files.walkFileTree(profile, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) {
                dir.toFile().delete(); // best effort: a helper may have written into it since
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
