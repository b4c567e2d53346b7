package dev.moeadapter.bench;

import dev.moeadapter.core.engine.Batch;
import dev.moeadapter.core.engine.KvLayout;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * The engine's own batched decode, without the service around it, in the shape of llama.cpp's
 * {@code llama-batched-bench}: {@code --sequences} sequences each prefill a {@code --prompt}-token prompt in
 * one decode, then {@code --gen} steps decode one token of every sequence (logits for every row, read
 * back), so the two tools' S_PP and S_TG compare one to one on the same GGUF and threads.
 *
 * <p>{@code BatchedDecodeBenchmark --model F.gguf [--sequences 8] [--prompt 32] [--gen 64] [--threads 2]
 * [--kv-layout unified|per-sequence] [--rounds 3]}: one line per round (the first warms up).
 */
public final class BatchedDecodeBenchmark {
    private BatchedDecodeBenchmark() {}

    public static void main(String[] args) {
        Map<String, String> a = Flags.parse(args);
        Path modelPath = Path.of(a.get("model"));
        int sequences = Flags.integer(a, "sequences", 8);
        int prompt = Flags.integer(a, "prompt", 32);
        int gen = Flags.integer(a, "gen", 64);
        int threads = Flags.integer(a, "threads", 2);
        int rounds = Flags.integer(a, "rounds", 3);
        KvLayout layout = Flags.kvLayout(a);
        try (Model model = Model.load(ModelParams.of(modelPath))) {
            int vocab = model.info().vocabSize();
            for (int round = 0; round < rounds; round++) {
                SessionParams params = new SessionParams(sequences * (prompt + gen), Math.max(512, sequences * prompt), sequences, threads, threads)
                        .withKvLayout(layout);
                try (Session session = model.newSession(params)) {
                    long t0 = System.nanoTime();
                    Batch.Builder prefill = Batch.builder();
                    for (int q = 0; q < sequences; q++) {
                        for (int p = 0; p < prompt; p++) {
                            prefill.add((q * 31 + p * 7 + 1) % vocab, p, q, p == prompt - 1);
                        }
                    }
                    session.decode(prefill.build());
                    long t1 = System.nanoTime();
                    for (int step = 0; step < gen; step++) {
                        Batch.Builder rows = Batch.builder();
                        for (int q = 0; q < sequences; q++) {
                            rows.add((q * 13 + step * 5 + 2) % vocab, prompt + step, q, true);
                        }
                        session.decode(rows.build());
                        for (int q = 0; q < sequences; q++) {
                            session.logits(q);
                        }
                    }
                    long t2 = System.nanoTime();
                    double pp = (t1 - t0) / 1e9, tg = (t2 - t1) / 1e9;
                    System.out.printf(Locale.ROOT, "round %d%s: %s, %d sequences: PP %d tokens %.3f s (%.1f t/s), TG %d tokens %.3f s (%.1f t/s, %.2f ms per step)%n",
                            round, round == 0 ? " (warm-up)" : "", layout, sequences, sequences * prompt, pp, sequences * prompt / pp,
                            sequences * gen, tg, sequences * gen / tg, tg * 1e3 / gen);
                }
            }
        }
    }
}
