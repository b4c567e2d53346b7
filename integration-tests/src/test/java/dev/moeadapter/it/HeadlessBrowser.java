package dev.moeadapter.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real browser, Chromium headless, that loads a page and gives back its DOM as the browser built
 * it. Chromium comes from the machine ({@code chromium} on the PATH, or {@code MOE_ADAPTER_CHROMIUM});
 * {@code ./moe test} installs Debian's package when it runs as root. Without it the test fails,
 * saying what to install.
 */
final class HeadlessBrowser {
    private HeadlessBrowser() {
    }

    static String dom(String url) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory("moe-chromium-");
        try {
            List<String> command = new ArrayList<>(List.of(binary(), "--headless", "--disable-gpu", "--no-first-run",
                    "--user-data-dir=" + profile, "--dump-dom", url));
            if ("root".equals(System.getProperty("user.name"))) {
                command.add(1, "--no-sandbox"); // Chromium's sandbox refuses to run as root
            }
            Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String dom = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("chromium failed on " + url + " (exit " + (p.isAlive() ? "none" : p.exitValue()) + ")");
            }
            return dom;
        } finally {
            try (Stream<Path> files = Files.walk(profile)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private static String binary() {
        String named = System.getenv("MOE_ADAPTER_CHROMIUM");
        if (named != null) {
            return named;
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            for (String name : new String[]{"chromium", "chromium-browser", "google-chrome"}) {
                if (Files.isExecutable(Path.of(dir, name))) {
                    return Path.of(dir, name).toString();
                }
            }
        }
        throw new IllegalStateException("this test needs a headless browser and none is installed: install Debian's 'chromium' "
                + "package (apt-get install -y chromium; ./moe test does so when run as root), or name it in MOE_ADAPTER_CHROMIUM");
    }
}
