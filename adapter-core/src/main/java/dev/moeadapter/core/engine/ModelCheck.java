package dev.moeadapter.core.engine;

import dev.moeadapter.core.ModelLoadException;
import dev.moeadapter.core.nativeaccess.NativeLibraries;
import dev.moeadapter.core.nativeaccess.Shim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Whether llama.cpp can load a model file, and run it in embeddings mode, decided in a child process
 * ({@code moe-check}, built beside the shim): a malformed file can trip one of llama.cpp's
 * assertions, which abort the whole process, so the JVM must not be the process that finds out.
 *
 * <p>Verdicts are cached per file content fingerprint (size, modification time, hashes of the first
 * and last MiB) and native build, in memory and under {@code model-checks} in the native build's
 * cache ({@code MOE_ADAPTER_CACHE}, default {@code ~/.cache/moe-adapter}; system property
 * {@code moe.adapter.check.cache} names the directory itself), so a good model is checked once.
 *
 * @param loadError       llama.cpp's reason when the model cannot be loaded
 * @param embeddingsError llama.cpp's reason when the model cannot run in embeddings mode
 */
public record ModelCheck(Optional<String> loadError, Optional<String> embeddingsError) {
    public static final String CACHE_PROPERTY = "moe.adapter.check.cache";
    private static final long TIMEOUT_MINUTES = 30;
    private static final int SAMPLE_BYTES = 1 << 20;
    private static final Map<String, ModelCheck> VERDICTS = new ConcurrentHashMap<>();

    public boolean loads() {
        return loadError.isEmpty();
    }

    /** The verdict for {@code model}, from the cache or a fresh child-process check. */
    public static ModelCheck of(Path model) {
        Shim shim = Shim.get();
        String key = fingerprint(model, shim.directory());
        ModelCheck cached = VERDICTS.get(key);
        if (cached != null) {
            return cached;
        }
        Path file = cacheDirectory().resolve(key);
        ModelCheck verdict = readCached(file).orElseGet(() -> run(shim.directory(), model));
        VERDICTS.put(key, verdict);
        writeCached(file, verdict);
        return verdict;
    }

    private static ModelCheck run(Path nativeDir, Path model) {
        Path exe = nativeDir.resolve(NativeLibraries.CHECKER);
        if (!Files.isExecutable(exe)) {
            throw new ModelLoadException("the model checker " + exe + " is missing or not executable; rebuild the natives");
        }
        Path stdout = null, stderr = null;
        try {
            stdout = Files.createTempFile("moe-check", ".out");
            stderr = Files.createTempFile("moe-check", ".log");
            ProcessBuilder pb = new ProcessBuilder(exe.toString(), nativeDir.toString(), model.toString())
                    .redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
            pb.environment().put("GGML_NO_BACKTRACE", "1"); // an abort would otherwise try to attach gdb
            Process p = pb.start();
            if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new ModelLoadException("checking " + model + " took over " + TIMEOUT_MINUTES + " minutes");
            }
            String out = Files.readString(stdout, StandardCharsets.UTF_8);
            String crash = "llama.cpp aborted (exit status " + p.exitValue() + ")" + assertion(Files.readString(stderr, StandardCharsets.ISO_8859_1));
            Optional<String> load = verdict(out, "load", crash);
            Optional<String> embeddings = load.isPresent() ? load : verdict(out, "embeddings", crash);
            return new ModelCheck(load, embeddings);
        } catch (IOException e) {
            throw new ModelLoadException("could not run the model checker on " + model + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ModelLoadException("interrupted while checking " + model, e);
        } finally {
            deleteQuietly(stdout);
            deleteQuietly(stderr);
        }
    }

    private static void deleteQuietly(Path file) {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // a leftover file in the temp directory is harmless
        }
    }

    /** Empty when the check passed; its reason when it failed; {@code crash} when it never reported. */
    private static Optional<String> verdict(String out, String check, String crash) {
        for (String line : out.lines().toList()) {
            if (line.equals(check + " ok")) {
                return Optional.empty();
            }
            if (line.startsWith(check + " failed ")) {
                return Optional.of(line.substring(check.length() + 8));
            }
        }
        return Optional.of(crash);
    }

    /** What ggml printed before aborting ("file.cpp:123: GGML_ASSERT(...) failed"), else stderr's last line. */
    private static String assertion(String stderr) {
        List<String> lines = stderr.lines().filter(l -> !l.isBlank()).toList();
        List<String> aborts = lines.stream().filter(l -> l.matches(".*\\.(c|cpp|h):\\d+: .*")).toList();
        List<String> pick = aborts.isEmpty() ? lines : aborts;
        return pick.isEmpty() ? "" : ": " + pick.getLast().strip();
    }

    private static String fingerprint(Path model, Path nativeDir) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            long size = Files.size(model);
            md.update((model.toAbsolutePath() + "\n" + size + "\n" + Files.getLastModifiedTime(model).toMillis() + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            // the native build: every build relinks the shim, so its size and time name the build
            Path shim = nativeDir.resolve(NativeLibraries.SHIM);
            md.update((nativeDir.toAbsolutePath() + "\n" + Files.size(shim) + "\n" + Files.getLastModifiedTime(shim).toMillis() + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            try (FileChannel ch = FileChannel.open(model, StandardOpenOption.READ)) {
                sample(ch, 0, md);
                sample(ch, Math.max(0, size - SAMPLE_BYTES), md);
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 32);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read model file " + model + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sample(FileChannel ch, long from, MessageDigest md) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(SAMPLE_BYTES);
        while (buf.hasRemaining() && ch.read(buf, from + buf.position()) > 0) {
            // keep reading until the sample is full or the file ends
        }
        md.update(buf.flip());
    }

    private static Path cacheDirectory() {
        String dir = System.getProperty(CACHE_PROPERTY);
        if (dir != null && !dir.isBlank()) {
            return Path.of(dir);
        }
        String cache = System.getenv("MOE_ADAPTER_CACHE"); // the native build's cache, when moved
        return (cache != null && !cache.isBlank() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache", "moe-adapter"))
                .resolve("model-checks");
    }

    // Cache file: line 1 the load error, line 2 the embeddings error, "-" for none.
    private static Optional<ModelCheck> readCached(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            if (lines.size() != 2) {
                return Optional.empty();
            }
            return Optional.of(new ModelCheck(error(lines.get(0)), error(lines.get(1))));
        } catch (IOException | UncheckedIOException e) {
            return Optional.empty();
        }
    }

    private static Optional<String> error(String line) {
        return line.equals("-") ? Optional.empty() : Optional.of(line);
    }

    private static void writeCached(Path file, ModelCheck verdict) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), ".check", ".tmp");
            Files.writeString(tmp, oneLine(verdict.loadError) + "\n" + oneLine(verdict.embeddingsError) + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // an unwritable cache only costs a re-check next time
        }
    }

    private static String oneLine(Optional<String> error) {
        return error.map(e -> e.replace('\n', ' ')).orElse("-");
    }
}
