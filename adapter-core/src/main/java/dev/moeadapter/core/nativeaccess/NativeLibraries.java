package dev.moeadapter.core.nativeaccess;

import dev.moeadapter.core.EngineException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * Finds the directory holding the shim and the llama.cpp libraries.
 *
 * <p>In order: the system property {@code moe.adapter.native.dir} or the environment variable
 * {@code MOE_ADAPTER_NATIVE_DIR} (a directory with libmoeshim.so next to the llama.cpp libraries it
 * was linked against); else the libraries packaged in this module, used in place when they are plain
 * files and otherwise extracted once into a content-addressed directory under java.io.tmpdir.
 */
public final class NativeLibraries {
    public static final String SHIM = "libmoeshim.so";
    /** The model checker executable, beside the shim. */
    public static final String CHECKER = "moe-check";
    public static final String DIR_PROPERTY = "moe.adapter.native.dir";
    public static final String DIR_ENV = "MOE_ADAPTER_NATIVE_DIR";
    private static final String RESOURCE_ROOT = "META-INF/moe-adapter/native/";

    private NativeLibraries() {}

    public static Path locate() {
        String override = System.getProperty(DIR_PROPERTY, System.getenv(DIR_ENV));
        if (override != null && !override.isBlank()) {
            Path dir = Path.of(override).toAbsolutePath();
            if (!Files.isRegularFile(dir.resolve(SHIM))) {
                throw new EngineException(dir + " (from " + DIR_PROPERTY + "/" + DIR_ENV + ") has no " + SHIM);
            }
            return dir;
        }
        String platform = platform();
        String base = RESOURCE_ROOT + platform + "/";
        URL listing = NativeLibraries.class.getClassLoader().getResource(base + "natives.txt");
        if (listing == null) {
            throw new EngineException("no packaged native libraries for " + platform
                    + "; build llama.cpp with LLAMA_BUILD=cmake or point " + DIR_PROPERTY + " at a directory with " + SHIM);
        }
        try {
            if ("file".equals(listing.getProtocol())) {
                return Path.of(listing.toURI()).getParent();
            }
            return extract(base, listing);
        } catch (IOException e) {
            throw new EngineException("could not unpack the native libraries: " + e.getMessage(), e);
        } catch (URISyntaxException e) {
            throw new EngineException("bad native library location " + listing, e);
        }
    }

    static String platform() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        String o = os.contains("linux") ? "linux" : os.contains("mac") ? "macos" : os.contains("win") ? "windows" : os;
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x64" : arch.equals("aarch64") ? "arm64" : arch;
        return o + "-" + a;
    }

    private static Path extract(String base, URL listing) throws IOException {
        byte[] manifest;
        try (InputStream in = listing.openStream()) {
            manifest = in.readAllBytes();
        }
        Path target = Path.of(System.getProperty("java.io.tmpdir"), "moe-adapter-native-" + sha256(manifest).substring(0, 16));
        if (Files.isRegularFile(target.resolve(SHIM))) {
            return target;
        }
        Path staging = Files.createTempDirectory(target.getParent(), ".moe-adapter-native-");
        List<String> files = new String(manifest, StandardCharsets.UTF_8).lines()
                .filter(l -> !l.isBlank()).map(l -> l.substring(l.indexOf(' ') + 1).trim()).toList();
        for (String name : files) {
            try (InputStream in = NativeLibraries.class.getClassLoader().getResourceAsStream(base + name)) {
                if (in == null) {
                    throw new IOException("missing packaged library " + name);
                }
                Files.copy(in, staging.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
            if (name.equals(CHECKER) && !staging.resolve(name).toFile().setExecutable(true)) {
                throw new IOException("cannot make " + name + " executable");
            }
        }
        try {
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
            // another process extracted the same content first: use theirs
            deleteTree(staging);
        } catch (IOException e) {
            if (!Files.isRegularFile(target.resolve(SHIM))) {
                throw e;
            }
            deleteTree(staging);
        }
        return target;
    }

    private static void deleteTree(Path dir) {
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException ignored) {
            // leftover staging directories are harmless
        }
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
