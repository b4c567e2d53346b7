package dev.moeadapter.core.engine;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.nativeaccess.Shim;
import dev.moeadapter.core.routing.PositionRange;
import dev.moeadapter.core.routing.RouterEdit;
import dev.moeadapter.core.routing.RouterTrace;
import dev.moeadapter.core.routing.RoutingPlan;
import dev.moeadapter.core.routing.TokenProbabilities;
import dev.moeadapter.core.routing.TokenRoute;
import dev.moeadapter.core.routing.TraceSpec;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A llama.cpp context on a {@link Model}: a unified KV cache holding several sequences, batched
 * decodes, per-sequence routing plans and router traces.
 *
 * <p>Every argument is validated in Java before the native call, so bad input raises
 * {@link InvalidRequestException} and leaves the session as it was. Calls are serialised by a lock;
 * {@link #abortDecode()} may be called from any thread to stop a decode in flight.
 */
public final class Session implements DecodeLane, AutoCloseable {
    private final Model model;
    private final Shim shim;
    private final ModelInfo info;
    private final MemorySegment handle;
    private final int contextSize, batchSize, sequences, sequenceContextSize;
    private final KvLayout kvLayout;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment tokensBuf, positionsBuf, sequencesBuf, outputsBuf, logitsBuf, embeddingBuf;
    private final ReentrantLock lock = new ReentrantLock();
    /** Held around the abort flag's writes, which do not wait for a decode, and around freeing the handle they write through. */
    private final Object abortFlag = new Object();
    private final boolean[] lastOutputs;
    private int lastSize;
    private boolean embeddings, lastEmbeddings;
    private volatile boolean closed;

    Session(Model model, Shim shim, SessionParams params) {
        this.model = model;
        this.shim = shim;
        this.info = model.info();
        this.kvLayout = params.kvLayout();
        MemorySegment h;
        try {
            h = (MemorySegment) shim.sessionNew.invokeExact(model.handle(), params.contextSize(), params.batchSize(),
                    params.sequences(), params.threads(), params.batchThreads(), params.flashAttention().nativeValue(),
                    params.kvCache().nativeValue(), params.kvLayout().nativeValue());
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        }
        if (h.equals(MemorySegment.NULL)) {
            shim.check(Shim.ERR_LLAMA, "create session");
        }
        this.handle = h;
        try {
            MemorySegment dims = arena.allocate(JAVA_INT, 4);
            shim.check((int) shim.sessionInfo.invokeExact(handle, dims, 4), "session info");
            contextSize = dims.getAtIndex(JAVA_INT, 0);
            batchSize = dims.getAtIndex(JAVA_INT, 1);
            sequences = dims.getAtIndex(JAVA_INT, 2);
            sequenceContextSize = dims.getAtIndex(JAVA_INT, 3);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        }
        tokensBuf = arena.allocate(JAVA_INT, batchSize);
        positionsBuf = arena.allocate(JAVA_INT, batchSize);
        sequencesBuf = arena.allocate(JAVA_INT, batchSize);
        outputsBuf = arena.allocate(JAVA_BYTE, batchSize);
        logitsBuf = arena.allocate(JAVA_FLOAT, info.vocabSize());
        embeddingBuf = arena.allocate(JAVA_FLOAT, info.embeddingSize());
        lastOutputs = new boolean[batchSize];
    }

    public Model model() {
        return model;
    }

    /** KV cache cells, of all sequences. */
    public int contextSize() {
        return contextSize;
    }

    /** Most KV cells one sequence can hold: all of them in a unified cache, its stream's with a stream per sequence. */
    @Override
    public int sequenceContextSize() {
        return sequenceContextSize;
    }

    /** How the KV cache holds the sequences. */
    public KvLayout kvLayout() {
        return kvLayout;
    }

    /** Most tokens one {@link #decode} accepts. */
    public int batchSize() {
        return batchSize;
    }

    public int sequences() {
        return sequences;
    }

    /**
     * Runs the batch through the model with each sequence's routing plan applied. Positions of a
     * sequence must continue its KV cache: consecutive, starting at {@link #maxPosition}+1.
     */
    public void decode(Batch batch) {
        lock.lock();
        try {
            ensureOpen();
            validate(batch);
            int n = batch.size();
            for (int i = 0; i < n; i++) {
                tokensBuf.setAtIndex(JAVA_INT, i, batch.token(i));
                positionsBuf.setAtIndex(JAVA_INT, i, batch.position(i));
                sequencesBuf.setAtIndex(JAVA_INT, i, batch.sequence(i));
                outputsBuf.setAtIndex(JAVA_BYTE, i, (byte) (batch.output(i) ? 1 : 0));
            }
            lastSize = 0;
            shim.check((int) shim.decode.invokeExact(handle, n, tokensBuf, positionsBuf, sequencesBuf, outputsBuf), "decode");
            for (int i = 0; i < n; i++) {
                lastOutputs[i] = batch.output(i) || embeddings;
            }
            lastSize = n;
            lastEmbeddings = embeddings;
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Checks {@code batch} as {@link #decode} would (size, token ids, sequences, positions) without
     * decoding it: an {@link InvalidRequestException} with the reason.
     */
    public void check(Batch batch) {
        lock.lock();
        try {
            ensureOpen();
            validate(batch);
        } finally {
            lock.unlock();
        }
    }

    private void validate(Batch batch) {
        int n = batch.size();
        if (n > batchSize) {
            throw new InvalidRequestException("batch of " + n + " tokens exceeds the session's batch size " + batchSize);
        }
        Map<Integer, Integer> next = new HashMap<>();
        for (int i = 0; i < n; i++) {
            model.checkToken(batch.token(i));
            int seq = batch.sequence(i);
            checkSequence(seq);
            int expected = next.computeIfAbsent(seq, s -> maxPositionUnlocked(s) + 1);
            if (batch.position(i) != expected) {
                throw new InvalidRequestException("sequence " + seq + " expects position " + expected + " next, got " + batch.position(i));
            }
            next.put(seq, expected + 1);
        }
    }

    /** Logits of the token at {@code batchIndex} of the last decode (it must have asked for output). */
    public float[] logits(int batchIndex) {
        lock.lock();
        try {
            checkOutput(batchIndex);
            shim.check((int) shim.logits.invokeExact(handle, batchIndex, logitsBuf, info.vocabSize()), "logits");
            return logitsBuf.toArray(JAVA_FLOAT);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Embeddings mode, off by default. While on, every token of a decode outputs its logits and its
     * final hidden state (after the output norm), whatever the batch's output flags say; that costs
     * the output layer for every token, so switch it on only for the decodes that need it.
     */
    public void setEmbeddings(boolean on) {
        if (on && model.embeddingsRefusal().isPresent()) {
            throw new InvalidRequestException("this model cannot run in embeddings mode: " + model.embeddingsRefusal().get());
        }
        withLock(() -> {
            shim.check((int) shim.setEmbeddings.invokeExact(handle, on ? 1 : 0), "set embeddings");
            embeddings = on;
        });
    }

    /** The final hidden state of the token at {@code batchIndex} of the last decode, which ran in embeddings mode. */
    public float[] embedding(int batchIndex) {
        lock.lock();
        try {
            checkOutput(batchIndex);
            if (!lastEmbeddings) {
                throw new InvalidRequestException("the last decode did not run in embeddings mode");
            }
            int n = shim.check((int) shim.embedding.invokeExact(handle, batchIndex, embeddingBuf, info.embeddingSize()), "embedding");
            return embeddingBuf.asSlice(0, (long) n * Float.BYTES).toArray(JAVA_FLOAT);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lock.unlock();
        }
    }

    /** The most likely next token at {@code batchIndex} of the last decode. */
    public int argmax(int batchIndex) {
        lock.lock();
        try {
            checkOutput(batchIndex);
            return shim.check((int) shim.argmax.invokeExact(handle, batchIndex), "argmax");
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lock.unlock();
        }
    }

    /**
     * −log p(targets[i]) at output {@code batchIndices[i]} of the last decode, computed natively
     * (no vocabulary-sized copy into Java).
     */
    public float[] nll(int[] batchIndices, int[] targets) {
        if (batchIndices.length != targets.length) {
            throw new InvalidRequestException("nll: " + batchIndices.length + " indices but " + targets.length + " targets");
        }
        lock.lock();
        try (Arena call = Arena.ofConfined()) {
            for (int i = 0; i < batchIndices.length; i++) {
                checkOutput(batchIndices[i]);
                model.checkToken(targets[i]);
            }
            int n = batchIndices.length;
            MemorySegment idx = call.allocateFrom(JAVA_INT, batchIndices);
            MemorySegment tgt = call.allocateFrom(JAVA_INT, targets);
            MemorySegment out = call.allocate(JAVA_FLOAT, Math.max(1, n));
            shim.check((int) shim.nll.invokeExact(handle, n, idx, tgt, out), "nll");
            return out.asSlice(0, (long) n * Float.BYTES).toArray(JAVA_FLOAT);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lock.unlock();
        }
    }

    /** Samples the next token from output {@code batchIndex} of the last decode. */
    public int sample(Sampler sampler, int batchIndex) {
        lock.lock();
        try {
            checkOutput(batchIndex);
            return shim.check(sampler.draw(chain -> (int) shim.samplerSample.invokeExact(chain, handle, batchIndex)), "sample");
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Self-contrast choice between a strong and a weak output row of the last decode (SCMoE):
     * scores (1+β)·z_strong − β·z_weak over the tokens with p_strong ≥ α·max p_strong. Picks the
     * argmax when {@code sampler} is null, else draws from the sampler chain over those scores.
     * Computed natively: no vocabulary-sized copy.
     */
    public int pickContrast(Sampler sampler, int strongIndex, int weakIndex, float alpha, float beta) {
        return contrast(sampler, strongIndex, weakIndex, alpha, beta, null);
    }

    /** The contrast scores themselves (−∞ outside the plausibility mask), for inspection and tests. */
    public float[] contrastScores(int strongIndex, int weakIndex, float alpha, float beta) {
        float[] out = new float[info.vocabSize()];
        contrast(null, strongIndex, weakIndex, alpha, beta, out);
        return out;
    }

    private int contrast(Sampler sampler, int strongIndex, int weakIndex, float alpha, float beta, float[] out) {
        if (!(alpha > 0 && alpha <= 1)) {
            throw new InvalidRequestException("alpha must be in (0, 1], got " + alpha);
        }
        if (!(beta >= 0) || !Float.isFinite(beta)) {
            throw new InvalidRequestException("beta must be finite and >= 0, got " + beta);
        }
        lock.lock();
        try {
            checkOutput(strongIndex);
            checkOutput(weakIndex);
            MemorySegment dst = out == null ? MemorySegment.NULL : logitsBuf;
            Sampler.ChainCall contrast = chain -> (int) shim.contrast.invokeExact(handle, chain,
                    strongIndex, weakIndex, alpha, beta, dst, out == null ? 0 : info.vocabSize());
            int token = shim.check(sampler == null ? contrast.call(MemorySegment.NULL) : sampler.draw(contrast), "contrast");
            if (out != null) {
                MemorySegment.copy(logitsBuf, JAVA_FLOAT, 0, out, 0, out.length);
            }
            return token;
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lock.unlock();
        }
    }

    /** llama.cpp decode calls so far: one per {@link #decode}, whatever its rows' layout and the model's memory. */
    public long llamaDecodes() {
        lock.lock();
        try {
            ensureOpen();
            return (long) shim.sessionLlamaDecodes.invokeExact(handle);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lock.unlock();
        }
    }

    /** Largest position stored for {@code sequence}, or −1 if it is empty. */
    public int maxPosition(int sequence) {
        lock.lock();
        try {
            ensureOpen();
            checkSequence(sequence);
            return maxPositionUnlocked(sequence);
        } finally {
            lock.unlock();
        }
    }

    private int maxPositionUnlocked(int sequence) {
        try {
            return (int) shim.kvPosMax.invokeExact(handle, sequence);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        }
    }

    /** Empties every sequence of the KV cache. */
    public void clear() {
        withLock(() -> shim.check((int) shim.kvClear.invokeExact(handle), "clear"));
    }

    /** Removes positions [from, to) of a sequence; {@code to} = Integer.MAX_VALUE means to the end. */
    public void removeTokens(int sequence, int from, int to) {
        PositionRange range = PositionRange.of(from, to);
        withLock(() -> {
            checkSequence(sequence);
            shim.check((int) shim.kvRm.invokeExact(handle, sequence, range.from(), nativeEnd(range.to())), "remove tokens");
        });
    }

    /** Empties one sequence. */
    public void clearSequence(int sequence) {
        removeTokens(sequence, 0, Integer.MAX_VALUE);
    }

    /**
     * Makes positions [from, to) of {@code source} also belong to {@code target} (cells are shared). A
     * model whose memory does not {@link Memory#rollsBackToAnyPrefix roll back} is copied whole only: a
     * range short of the source's end is refused with {@link InvalidRequestException}.
     */
    public void copySequence(int source, int target, int from, int to) {
        PositionRange range = PositionRange.of(from, to);
        withLock(() -> {
            checkSequence(source);
            checkSequence(target);
            shim.check((int) shim.kvCp.invokeExact(handle, source, target, range.from(), nativeEnd(range.to())), "copy sequence");
        });
    }

    /** Sets the routing plan of a sequence, replacing its previous one; validated against the model. */
    public void setPlan(int sequence, RoutingPlan plan) {
        plan.validate(info);
        withLock(() -> {
            checkSequence(sequence);
            shim.check((int) shim.planClear.invokeExact(handle, sequence), "clear plan");
            try (Arena call = Arena.ofConfined()) {
                for (var edit : plan.edits()) {
                    float[] v = switch (edit) {
                        case RouterEdit.AddDelta d -> d.delta();
                        case RouterEdit.ReplaceDistribution r -> r.probabilities();
                        case RouterEdit.ExpertMask m -> maskVector(m.allowed());
                        case RouterEdit.ScaleWeights w -> w.scales();
                        case RouterEdit.Steer st -> st.offsets();
                        case RouterEdit.TopP tp -> new float[] {tp.p()};
                        case RouterEdit.KeepRank k -> null;
                        case RouterEdit.KeepTop t -> null;
                    };
                    int kind = switch (edit) {
                        case RouterEdit.AddDelta d -> Shim.EDIT_DELTA;
                        case RouterEdit.ReplaceDistribution r -> Shim.EDIT_REPLACE;
                        case RouterEdit.ExpertMask m -> Shim.EDIT_ALLOW;
                        case RouterEdit.KeepRank k -> Shim.EDIT_RANK_K;
                        case RouterEdit.KeepTop t -> Shim.EDIT_TOP_M;
                        case RouterEdit.ScaleWeights w -> Shim.EDIT_SCALE_WEIGHTS;
                        case RouterEdit.Steer st -> Shim.EDIT_STEER;
                        case RouterEdit.TopP tp -> Shim.EDIT_TOP_P;
                    };
                    int param = switch (edit) {
                        case RouterEdit.KeepRank k -> k.rank();
                        case RouterEdit.KeepTop t -> t.m();
                        default -> 0;
                    };
                    MemorySegment vec = v == null ? MemorySegment.NULL : call.allocateFrom(JAVA_FLOAT, v);
                    PositionRange p = edit.positions();
                    shim.check((int) shim.planAdd.invokeExact(handle, sequence, edit.layer(), kind, p.from(), p.to(),
                            param, vec, v == null ? 0 : v.length), "add router edit");
                }
            }
        });
    }

    public void clearPlan(int sequence) {
        withLock(() -> {
            checkSequence(sequence);
            shim.check((int) shim.planClear.invokeExact(handle, sequence), "clear plan");
        });
    }

    /** Chooses what to record of a sequence's routing in the following decodes. */
    public void setTrace(int sequence, TraceSpec spec) {
        if (!spec.isOff() && !info.isMoe()) {
            throw new InvalidRequestException("model '" + info.architecture() + "' has no MoE layers to trace");
        }
        withLock(() -> {
            checkSequence(sequence);
            PositionRange p = spec.probabilities();
            shim.check((int) shim.traceSet.invokeExact(handle, sequence, spec.routes() ? 1 : 0, p.from(), p.to()), "set trace");
        });
    }

    /** Returns and forgets what was traced since the last call. */
    public RouterTrace drainTrace() {
        lock.lock();
        try (Arena call = Arena.ofConfined()) {
            ensureOpen();
            int k = info.expertsUsed(), e = info.experts();
            int nr = (int) shim.traceRouteCount.invokeExact(handle);
            List<TokenRoute> routes = new ArrayList<>(nr);
            if (nr > 0) {
                MemorySegment meta = call.allocate(JAVA_INT, 3L * nr);
                MemorySegment experts = call.allocate(JAVA_INT, (long) k * nr);
                MemorySegment weights = call.allocate(JAVA_FLOAT, (long) k * nr);
                shim.check((int) shim.traceRoutesRead.invokeExact(handle, meta, experts, weights, nr), "read routes");
                int[] m = meta.toArray(JAVA_INT), ex = experts.toArray(JAVA_INT);
                float[] w = weights.toArray(JAVA_FLOAT);
                for (int i = 0; i < nr; i++) {
                    routes.add(new TokenRoute(m[3 * i], m[3 * i + 1], m[3 * i + 2],
                            java.util.Arrays.copyOfRange(ex, i * k, (i + 1) * k), java.util.Arrays.copyOfRange(w, i * k, (i + 1) * k)));
                }
            }
            int np = (int) shim.traceProbsCount.invokeExact(handle);
            List<TokenProbabilities> probs = new ArrayList<>(np);
            if (np > 0) {
                MemorySegment meta = call.allocate(JAVA_INT, 3L * np);
                MemorySegment data = call.allocate(JAVA_FLOAT, (long) e * np);
                shim.check((int) shim.traceProbsRead.invokeExact(handle, meta, data, np), "read probabilities");
                int[] m = meta.toArray(JAVA_INT);
                float[] d = data.toArray(JAVA_FLOAT);
                for (int i = 0; i < np; i++) {
                    probs.add(new TokenProbabilities(m[3 * i], m[3 * i + 1], m[3 * i + 2], java.util.Arrays.copyOfRange(d, i * e, (i + 1) * e)));
                }
            }
            return new RouterTrace(routes, probs);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops the decode in flight (or, if none is running, the next one), which then fails with a
     * CancelledException and leaves the KV cache as it was before it. Safe to call from any thread.
     */
    public void abortDecode() {
        setAbort(1);
    }

    private void setAbort(int value) {
        synchronized (abortFlag) { // close() frees the handle under the same monitor: never a write to freed memory
            if (closed) {
                return;
            }
            try {
                shim.sessionAbort.invokeExact(handle, value);
            } catch (Throwable t) {
                throw Shim.rethrow(t);
            }
        }
    }

    /**
     * Withdraws an {@link #abortDecode()} that found no decode in flight, so that it does not stop
     * the next decode (e.g. the fallback after an attempt was given up between decodes).
     */
    public void clearAbort() {
        setAbort(0);
    }

    private void checkOutput(int batchIndex) {
        ensureOpen();
        if (batchIndex < 0 || batchIndex >= lastSize || !lastOutputs[batchIndex]) {
            throw new InvalidRequestException("batch index " + batchIndex + " has no logits from the last decode");
        }
    }

    private void checkSequence(int sequence) {
        if (sequence < 0 || sequence >= sequences) {
            throw new InvalidRequestException("sequence " + sequence + " out of range 0.." + (sequences - 1));
        }
    }

    private static float[] maskVector(boolean[] allowed) {
        float[] v = new float[allowed.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = allowed[i] ? 1f : 0f;
        }
        return v;
    }

    private static int nativeEnd(int to) {
        return to == Integer.MAX_VALUE ? -1 : to;
    }

    @FunctionalInterface
    private interface NativeAction {
        void run() throws Throwable;
    }

    private void withLock(NativeAction action) {
        lock.lock();
        try {
            ensureOpen();
            action.run();
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lock.unlock();
        }
    }

    void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("session is closed");
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            synchronized (abortFlag) {
                closed = true;
            }
            shim.sessionFree.invokeExact(handle);
            arena.close();
            model.forget(this);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lock.unlock();
        }
    }
}
