package dev.moeadapter.bench;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;
import java.util.Random;

/**
 * java-llama.cpp ({@code de.kherud:llama}) measured through its public API, in a JVM of its own
 * (started by {@link EngineBenchmark}): its JNI library carries its own, older llama.cpp, which must
 * not share a process with the engine's, and a crash while loading must not end the benchmark.
 *
 * <p>The API runs the llama.cpp server loop and exposes only text completion, so llama-bench's pp/tg
 * are approximated as follows (every request with {@code cache_prompt=false}, greedy sampling,
 * ignore-EOS, one slot):
 * <ul>
 * <li>prefill: wall time of {@code complete(prompt of N tokens, n_predict=1)}; pp = N / time. It
 *     includes one sampling step and the request round trip (both measured below and small).</li>
 * <li>decode: wall time of {@code complete(3-token prompt, n_predict=G+1)} minus that of
 *     {@code complete(same prompt, n_predict=1)}, taken back to back in each repetition; the
 *     difference is G single-token decodes (+ G samplings); tg = G / difference.</li>
 * </ul>
 * The server prints its own "prompt eval time" / "eval time" per request to stdout (not through
 * {@code LlamaModel.setLogger}); the parent reads them from this process's log afterwards.
 *
 * <p>Results go to a {@link Properties} file: status, error, pp/tg samples (tokens/s, comma
 * separated) and notes (parameters, load time, prompt token count, short-request time).
 */
final class JavaLlamaBench {
    private final EngineBenchmark.Config c;
    private final Properties out = new Properties();

    private JavaLlamaBench(EngineBenchmark.Config c) {
        this.c = c;
    }

    /** Child-process entry: measures and writes {@code result}; never throws. */
    static void run(EngineBenchmark.Config c, Path result) {
        JavaLlamaBench b = new JavaLlamaBench(c);
        try {
            b.measure();
            b.out.setProperty("status", "ok");
        } catch (Throwable t) {
            b.out.setProperty("status", "failed");
            b.out.setProperty("error", String.valueOf(t));
        }
        try (OutputStream os = Files.newOutputStream(result)) {
            b.out.store(os, "java-llama.cpp benchmark");
        } catch (Exception e) {
            System.err.println("cannot write " + result + ": " + e);
            System.exit(3);
        }
    }

    private void measure() {
        ModelParameters mp = new ModelParameters()
                .setModel(c.model().toString())
                .setThreads(c.threads())
                .setThreadsBatch(c.threads())
                .setCtxSize(c.prompt() + c.gen() + 64)
                .setBatchSize(2048)        // llama-bench defaults: n_batch 2048, n_ubatch 512
                .setUbatchSize(512)
                .setParallel(1)
                .setGpuLayers(0)
                .enableFlashAttn();        // llama-bench and the engine run with flash attention "auto" = on (CPU)
        out.setProperty("model_parameters", String.join(" ", mp.toArray()).trim());
        long t0 = System.nanoTime();
        try (LlamaModel model = new LlamaModel(mp)) {
            out.setProperty("load_ms", fmt((System.nanoTime() - t0) / 1e6));
            Random rnd = new Random(c.seed());
            String prompt = prompt(model, rnd);
            String shortPrompt = "a";

            // warm-up, as llama-bench does one prompt run and one generation step before measuring
            complete(model, prompt, 1);
            complete(model, shortPrompt, 2);

            double[] pp = new double[c.reps()], tg = new double[c.reps()], baseMs = new double[c.reps()];
            for (int r = 0; r < c.reps(); r++) {
                pp[r] = c.prompt() / complete(model, prompt, 1);
            }
            for (int r = 0; r < c.reps(); r++) {
                double base = complete(model, shortPrompt, 1);
                double gen = complete(model, shortPrompt, c.gen() + 1);
                tg[r] = c.gen() / (gen - base);
                baseMs[r] = base * 1e3;
            }
            out.setProperty("pp_samples_ts", join(pp));
            out.setProperty("tg_samples_ts", join(tg));
            out.setProperty("short_request_ms", join(baseMs));
        }
    }

    /**
     * A prompt of random letters/digits that tokenizes to N tokens with BOS: the benchmark model's
     * vocabulary is character level (BOS, "▁", one token per character). encode() counts without
     * BOS; the parent checks the server's own token count in the log.
     */
    private String prompt(LlamaModel model, Random rnd) {
        String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        StringBuilder text = new StringBuilder();
        int chars = Math.max(1, c.prompt() - 2);
        for (int attempt = 0; attempt < 4; attempt++) {
            while (text.length() < chars) {
                text.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
            }
            text.setLength(chars);
            int n = model.encode(text.toString()).length + 1;
            out.setProperty("prompt_tokens_encode_plus_bos", Integer.toString(n));
            if (n == c.prompt()) {
                return text.toString();
            }
            chars += c.prompt() - n;
            if (chars < 1) {
                break;
            }
        }
        throw new IllegalStateException("could not build a prompt of " + c.prompt() + " tokens");
    }

    /** Wall-clock seconds of one completion request. */
    private double complete(LlamaModel model, String prompt, int nPredict) {
        InferenceParameters ip = new InferenceParameters(prompt)
                .setNPredict(nPredict)
                .setCachePrompt(false)
                .setTemperature(0f)
                .setIgnoreEos(true)
                .setSeed((int) c.seed());
        long t0 = System.nanoTime();
        model.complete(ip);
        return (System.nanoTime() - t0) / 1e9;
    }

    private static String join(double[] v) {
        StringBuilder b = new StringBuilder();
        for (double d : v) {
            b.append(b.isEmpty() ? "" : ",").append(fmt(d));
        }
        return b.toString();
    }

    private static String fmt(double d) {
        return String.format(Locale.ROOT, "%.4f", d);
    }

}
