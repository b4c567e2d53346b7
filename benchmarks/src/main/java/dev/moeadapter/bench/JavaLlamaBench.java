package dev.moeadapter.bench;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import dev.moeadapter.bench.EngineBenchmark.Settings;
import dev.moeadapter.bench.Results.Row;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * java-llama.cpp ({@code de.kherud:llama}) measured through its public API ({@code EngineBenchmark
 * jllama}), in a JVM of its own: its JNI library carries its own, older llama.cpp, which must not share
 * a process with the engine's, and a crash while loading must not end the benchmark.
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
 * {@code LlamaModel.setLogger}); {@link Report} reads them from this process's log afterwards.
 */
final class JavaLlamaBench {
    static final String ID = "java-llama.cpp", LABEL = "java-llama.cpp 4.2.0";

    private final Settings c;
    private final Map<String, Object> details = new LinkedHashMap<>();

    private JavaLlamaBench(Settings c) {
        this.c = c;
    }

    /** Measures; a failure becomes a failed row. */
    static Row run(Settings c) {
        JavaLlamaBench b = new JavaLlamaBench(c);
        try {
            Series[] ppTg = b.measure();
            return Row.measured(ID, LABEL, ppTg[0], ppTg[1], b.details);
        } catch (Throwable t) {
            return Row.failed(ID, LABEL, String.valueOf(t), b.details);
        }
    }

    private Series[] measure() {
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
        details.put("model_parameters", String.join(" ", mp.toArray()).trim());
        long t0 = System.nanoTime();
        try (LlamaModel model = new LlamaModel(mp)) {
            details.put("load_ms", (System.nanoTime() - t0) / 1e6);
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
            details.put("short_request_ms", baseMs);
            return new Series[] {new Series(c.prompt(), pp), new Series(c.gen(), tg)};
        }
    }

    /**
     * A prompt of random letters/digits that tokenizes to N tokens with BOS: the benchmark model's
     * vocabulary is character level (BOS, "▁", one token per character). encode() counts without
     * BOS; the report checks the server's own token count in the log.
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
            details.put("prompt_tokens_encode_plus_bos", n);
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
}
