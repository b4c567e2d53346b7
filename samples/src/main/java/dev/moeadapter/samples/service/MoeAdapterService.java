package dev.moeadapter.samples.service;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;

/**
 * The runnable service: the starter's endpoints over the model named by {@code moe.adapter.model}
 * ({@code ./moe serve --model FILE.gguf}, or MOE_ADAPTER_MODEL), or else over the embedded lab
 * model (the lab v2 OLMoE-style model of training seed 2; see samples/lab/README.md).
 */
@SpringBootApplication
public class MoeAdapterService {

    private static final Logger LOG = LoggerFactory.getLogger(MoeAdapterService.class);

    /** Classpath location of the embedded default model. */
    static final String EMBEDDED_MODEL = "moe-adapter/lab/lab2-olmoe-seed3.gguf";

    public static void main(String[] args) {
        boolean named = Arrays.stream(args).anyMatch(a -> a.startsWith("--moe.adapter.model="))
                || System.getenv("MOE_ADAPTER_MODEL") != null || System.getProperty("moe.adapter.model") != null;
        if (!named) {
            Path model = embeddedModel();
            LOG.info("no model named (--model / MOE_ADAPTER_MODEL): serving the embedded lab model {}", model);
            System.setProperty("moe.adapter.model", model.toString());
        }
        SpringApplication.run(MoeAdapterService.class, args);
    }

    /** The embedded lab model as a file: used in place when on disk, else copied out of the jar once. */
    public static Path embeddedModel() {
        URL url = MoeAdapterService.class.getClassLoader().getResource(EMBEDDED_MODEL);
        if (url == null) {
            throw new IllegalStateException("the embedded lab model " + EMBEDDED_MODEL + " is not on the classpath; pass --model FILE.gguf");
        }
        try {
            if (url.getProtocol().equals("file")) {
                return Path.of(url.toURI());
            }
            Path file = Path.of(System.getProperty("java.io.tmpdir"), "moe-adapter-" + Path.of(EMBEDDED_MODEL).getFileName());
            try (InputStream in = url.openStream()) {
                Path tmp = Files.createTempFile(file.getParent(), "moe-adapter-", ".part");
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot unpack the embedded lab model", e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
