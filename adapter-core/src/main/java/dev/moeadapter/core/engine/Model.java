package dev.moeadapter.core.engine;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.ModelLoadException;
import dev.moeadapter.core.nativeaccess.Shim;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A GGUF model loaded into llama.cpp, once, and shared by any number of {@link Session}s.
 * Thread-safe: tokenization and template formatting may run concurrently with sessions.
 */
public final class Model implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Model.class);
    private static final byte[] GGUF_MAGIC = {'G', 'G', 'U', 'F'};

    private final Shim shim;
    private final MemorySegment handle;
    private final Path path;
    private final ModelInfo info;
    private final Optional<String> embeddingsRefusal;
    private final boolean offloaded;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    /** The vocabulary's end-of-generation tokens, read once: asked after every token, on the decode path. */
    private final BitSet endOfGeneration;
    private volatile boolean closed;
    /** {@link #longestTokenBytes()}, once measured (0 until then). */
    private volatile int longestTokenBytes;
    /** Native calls on the model hold it shared; close() frees the model holding it alone, never under a call in flight. */
    private final ReentrantReadWriteLock lifetime = new ReentrantReadWriteLock();

    private Model(Shim shim, MemorySegment handle, Path path, Optional<String> embeddingsRefusal, boolean offloaded) {
        this.shim = shim;
        this.offloaded = offloaded;
        this.handle = handle;
        this.path = path;
        this.embeddingsRefusal = embeddingsRefusal;
        this.info = readInfo();
        this.endOfGeneration = new BitSet(info.vocabSize());
        try {
            for (int t = 0; t < info.vocabSize(); t++) {
                if ((int) shim.modelIsEog.invokeExact(handle, t) != 0) {
                    endOfGeneration.set(t);
                }
            }
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        }
    }

    /**
     * Loads a model; throws {@link ModelLoadException} with llama.cpp's reason when the file is
     * unusable. The file is first loaded in a child process ({@link ModelCheck}), so a file that trips
     * a llama.cpp assertion fails this call instead of aborting the JVM.
     */
    public static Model load(ModelParams params) {
        Path path = params.path().toAbsolutePath();
        checkFile(path);
        Shim shim = Shim.get();
        ModelCheck check = ModelCheck.of(path);
        if (!check.loads()) {
            throw new ModelLoadException("llama.cpp could not load " + path + ": " + check.loadError().orElseThrow());
        }
        long started = System.nanoTime();
        LOG.info("loading model {} ({} MiB, gpu layers {}, mmap {})", path.getFileName(), sizeMiB(path), params.gpuLayers(), params.mmap());
        MemorySegment handle;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment progress = shim.linker().upcallStub(
                    ProgressLog.HANDLE.bindTo(new ProgressLog(path.getFileName().toString())),
                    FunctionDescriptor.of(JAVA_INT, JAVA_FLOAT), arena);
            handle = (MemorySegment) shim.modelLoad.invokeExact(arena.allocateFrom(path.toString()),
                    params.gpuLayers(), params.mmap() ? 1 : 0, progress);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        }
        if (handle.equals(MemorySegment.NULL)) {
            throw new ModelLoadException("llama.cpp could not load " + path + ": " + shim.lastError());
        }
        Model model = new Model(shim, handle, path, check.embeddingsError(), params.gpuLayers() != 0);
        ModelInfo i = model.info;
        LOG.info("loaded {} in {} ms: arch {}, {} layers, {} MoE layers, {} experts (top-{}), gating {}, renormalised {}, {} memory, vocab {}",
                path.getFileName(), (System.nanoTime() - started) / 1_000_000, i.architecture(), i.layers(),
                i.moeLayers().size(), i.experts(), i.expertsUsed(), i.gating(), i.renormalized(), i.memory(), i.vocabSize());
        return model;
    }

    private static void checkFile(Path path) {
        if (!Files.exists(path)) {
            throw new ModelLoadException("model file not found: " + path);
        }
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new ModelLoadException("model path is not a readable file: " + path);
        }
        byte[] head = new byte[4];
        try (InputStream in = Files.newInputStream(path)) {
            if (in.readNBytes(head, 0, 4) != 4 || !Arrays.equals(head, GGUF_MAGIC)) {
                throw new ModelLoadException("not a GGUF file (bad magic): " + path);
            }
        } catch (IOException e) {
            throw new ModelLoadException("cannot read model file " + path + ": " + e.getMessage(), e);
        }
    }

    private static long sizeMiB(Path path) {
        try {
            return Files.size(path) >> 20;
        } catch (IOException e) {
            return -1;
        }
    }

    private ModelInfo readInfo() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ints = arena.allocate(JAVA_INT, Shim.INFO_COUNT);
            shim.check((int) shim.modelInfo.invokeExact(handle, ints, Shim.INFO_COUNT), "model info");
            int[] v = ints.toArray(JAVA_INT);
            int nMoe = v[11];
            int cap = Math.max(1, nMoe) * Shim.LAYER_COUNT;
            MemorySegment layers = arena.allocate(JAVA_INT, cap);
            shim.check((int) shim.modelLayers.invokeExact(handle, layers, cap), "model MoE layers");
            int[] l = layers.toArray(JAVA_INT);
            List<LayerRouting> routing = new ArrayList<>();
            for (int i = 0; i < nMoe; i++) {
                int o = i * Shim.LAYER_COUNT;
                routing.add(new LayerRouting(l[o], Gating.fromNative(l[o + 1]), l[o + 2] != 0, l[o + 3] != 0, l[o + 4],
                        l[o + 5] != 0, l[o + 6] != 0));
            }
            String arch = metadata("general.architecture").orElse("unknown");
            return ModelInfo.of(arch, describe(), v[0], v[1], v[2], v[5], v[6], v[7], v[8], v[9], v[12] != 0,
                    Memory.fromNative(v[13]), routing);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        }
    }

    private String describe() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(256);
            shim.check((int) shim.modelDesc.invokeExact(handle, buf, 256), "model description");
            return buf.getString(0);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        }
    }

    public ModelInfo info() {
        return info;
    }

    public Path path() {
        return path;
    }

    /** Why llama.cpp cannot run this model in embeddings mode (it would abort), if it cannot. */
    public Optional<String> embeddingsRefusal() {
        return embeddingsRefusal;
    }

    /** A GGUF metadata value as a string, if the key exists. */
    public Optional<String> metadata(String key) {
        if (key == null || key.isEmpty()) {
            throw new InvalidRequestException("metadata key must not be empty");
        }
        return whileOpen(() -> {
            try (Arena arena = Arena.ofConfined()) {
                int cap = 1024;
                while (true) {
                    MemorySegment buf = arena.allocate(cap);
                    int n = (int) shim.modelMeta.invokeExact(handle, arena.allocateFrom(key), buf, cap);
                    if (n < 0) {
                        return Optional.empty();
                    }
                    if (n < cap) {
                        return Optional.of(buf.getString(0));
                    }
                    cap = n + 1;
                }
            }
        });
    }

    /** Tokens of {@code text}; {@code addSpecial} adds BOS where the model wants it. */
    public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        if (text == null) {
            throw new InvalidRequestException("text must not be null");
        }
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        return whileOpen(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment bytes = arena.allocate(Math.max(1, utf8.length));
                MemorySegment.copy(utf8, 0, bytes, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, utf8.length);
                int cap = utf8.length + 8;
                while (true) {
                    MemorySegment out = arena.allocate(JAVA_INT, cap);
                    int n = (int) shim.tokenize.invokeExact(handle, bytes, utf8.length, out, cap, addSpecial ? 1 : 0, parseSpecial ? 1 : 0);
                    if (n >= 0) {
                        return out.asSlice(0, (long) n * Integer.BYTES).toArray(JAVA_INT);
                    }
                    cap = -n; // llama.cpp answers −(tokens needed) when the buffer is too small
                }
            }
        });
    }

    /**
     * Tokens of {@code text} with the model's special tokens added (BOS) and parsed: text that spells a
     * control token ({@code </s>}, {@code <|im_end|>}) becomes that token, and llama.cpp's search for such
     * spellings grows with the square of their number. For text a client sent, use
     * {@code tokenize(text, true, false)}, as the service does.
     */
    public int[] tokenize(String text) {
        return tokenize(text, true, true);
    }

    /** The raw bytes a token stands for (pieces of a multi-byte character may span tokens). */
    public byte[] tokenBytes(int token, boolean renderSpecial) {
        checkToken(token);
        return whileOpen(() -> {
            try (Arena arena = Arena.ofConfined()) {
                int cap = 64;
                while (true) {
                    MemorySegment buf = arena.allocate(cap);
                    int n = (int) shim.tokenPiece.invokeExact(handle, token, buf, cap, renderSpecial ? 1 : 0);
                    if (n >= 0) {
                        return buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                    }
                    if (n == Integer.MIN_VALUE) {
                        shim.check(Shim.ERR_INTERNAL, "token piece");
                    }
                    cap = -n;
                }
            }
        });
    }

    /**
     * The most bytes of text one token stands for, over the whole vocabulary (control tokens not
     * rendered): a text of B bytes has at least B / this many tokens, which refuses a text too long
     * for a context without tokenising it. Measured on first use.
     */
    public int longestTokenBytes() {
        int longest = longestTokenBytes;
        if (longest == 0) {
            for (int t = 0; t < info.vocabSize(); t++) {
                longest = Math.max(longest, tokenBytes(t, false).length);
            }
            longestTokenBytes = longest = Math.max(1, longest);
        }
        return longest;
    }

    /** Text of a token sequence; control tokens are not rendered. */
    public String detokenize(int[] tokens) {
        var out = new java.io.ByteArrayOutputStream();
        for (int t : tokens) {
            out.writeBytes(tokenBytes(t, false));
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    public boolean isEndOfGeneration(int token) {
        ensureOpen();
        return token >= 0 && endOfGeneration.get(token);
    }

    /** Formats messages with the model's own chat template. */
    public String applyChatTemplate(List<ChatMessage> messages, boolean addAssistantPrompt) {
        return applyChatTemplate(null, messages, addAssistantPrompt);
    }

    /** Formats messages with {@code template} (a template name or Jinja text llama.cpp recognises). */
    public String applyChatTemplate(String template, List<ChatMessage> messages, boolean addAssistantPrompt) {
        if (messages == null || messages.isEmpty()) {
            throw new InvalidRequestException("a chat needs at least one message");
        }
        return whileOpen(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment roles = arena.allocate(ADDRESS, messages.size());
                MemorySegment contents = arena.allocate(ADDRESS, messages.size());
                long total = 0;
                for (int i = 0; i < messages.size(); i++) {
                    ChatMessage m = messages.get(i);
                    if (m.content().indexOf('\0') >= 0 || m.role().indexOf('\0') >= 0) {
                        throw new InvalidRequestException("chat messages must not contain NUL characters");
                    }
                    roles.setAtIndex(ADDRESS, i, arena.allocateFrom(m.role()));
                    contents.setAtIndex(ADDRESS, i, arena.allocateFrom(m.content()));
                    total += m.content().length() + m.role().length();
                }
                MemorySegment tmpl = template == null ? MemorySegment.NULL : arena.allocateFrom(template);
                int cap = (int) Math.min(Integer.MAX_VALUE - 1, 2 * total + 256);
                while (true) {
                    MemorySegment buf = arena.allocate(cap + 1L);
                    int n = shim.check((int) shim.chatApply.invokeExact(handle, tmpl, messages.size(), roles, contents,
                            addAssistantPrompt ? 1 : 0, buf, cap), "apply chat template");
                    if (n <= cap) {
                        return new String(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
                    }
                    cap = n;
                }
            }
        });
    }

    /**
     * Opens a session (a llama.cpp context) on this model; refuses one whose KV cache would not fit in
     * the memory left (see {@link KvMemory}) with an {@link dev.moeadapter.core.EngineException}.
     */
    public Session newSession(SessionParams params) {
        KvMemory.of(info, this::metadata, params.kvCache(), offloaded).check(params.contextSize());
        return whileOpen(() -> {
            Session s = new Session(this, shim, params);
            sessions.add(s);
            return s;
        });
    }

    void checkToken(int token) {
        if (token < 0 || token >= info.vocabSize()) {
            throw new InvalidRequestException("token id " + token + " outside the vocabulary 0.." + (info.vocabSize() - 1));
        }
    }

    MemorySegment handle() {
        ensureOpen();
        return handle;
    }

    void forget(Session s) {
        sessions.remove(s);
    }

    void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("model " + path.getFileName() + " is closed");
        }
    }

    /** A native call on the model. */
    @FunctionalInterface
    private interface NativeCall<T> {
        T call() throws Throwable;
    }

    /** Runs {@code call} on the open model; close() waits for it. */
    private <T> T whileOpen(NativeCall<T> call) {
        lifetime.readLock().lock();
        try {
            ensureOpen();
            return call.call();
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lifetime.readLock().unlock();
        }
    }

    /** Frees the model; open sessions on it are closed first. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        lifetime.writeLock().lock(); // no session is opened meanwhile; a session's own calls never wait for this lock
        try {
            for (Session s : List.copyOf(sessions)) {
                s.close();
            }
            closed = true;
            shim.modelFree.invokeExact(handle);
        } catch (Throwable t) {
            throw Shim.rethrow(t);
        } finally {
            lifetime.writeLock().unlock();
        }
        LOG.info("unloaded model {}", path.getFileName());
    }

    /** Logs load progress in 10% steps; called from llama.cpp on the loading thread. */
    private static final class ProgressLog {
        static final MethodHandle HANDLE;

        static {
            try {
                HANDLE = MethodHandles.lookup().findVirtual(ProgressLog.class, "onProgress", MethodType.methodType(int.class, float.class));
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final String name;
        private int lastDecile = -1;

        ProgressLog(String name) {
            this.name = name;
        }

        @SuppressWarnings("unused")
        int onProgress(float p) {
            try {
                int decile = (int) (p * 10);
                if (decile > lastDecile) {
                    lastDecile = decile;
                    LOG.info("loading {}: {}%", name, decile * 10);
                }
            } catch (RuntimeException ignored) {
                // never unwind into native code
            }
            return 1;
        }
    }
}
