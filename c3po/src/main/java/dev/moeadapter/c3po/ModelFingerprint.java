package dev.moeadapter.c3po;

import dev.moeadapter.core.ModelLoadException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** The SHA-256 of a model file: what a reference set records to know which model it belongs to. */
public final class ModelFingerprint {
    private static final Logger LOG = LoggerFactory.getLogger(ModelFingerprint.class);

    private ModelFingerprint() {}

    /** Lower-case hex SHA-256 of the file's bytes. */
    public static String sha256(Path file) {
        long started = System.nanoTime();
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            long total = 0;
            for (int n; (n = in.read(buf)) > 0; ) {
                digest.update(buf, 0, n);
                total += n;
            }
            String hex = HexFormat.of().formatHex(digest.digest());
            LOG.info("SHA-256 of {} ({} MiB) in {} ms: {}", file.getFileName(), total >> 20, (System.nanoTime() - started) / 1_000_000, hex);
            return hex;
        } catch (IOException e) {
            throw new ModelLoadException("cannot read model file " + file + " to fingerprint it: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
