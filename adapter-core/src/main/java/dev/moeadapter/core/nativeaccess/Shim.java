package dev.moeadapter.core.nativeaccess;

import dev.moeadapter.core.CancelledException;
import dev.moeadapter.core.ContextFullException;
import dev.moeadapter.core.EngineException;
import dev.moeadapter.core.InvalidRequestException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Method handles for the shim's flat C API (moe_shim.h). Every status-returning call goes through
 * {@link #check}, which turns the shim's error codes into typed exceptions carrying its message.
 *
 * <p>One instance per process: the native libraries and llama.cpp's backend registry are
 * process-wide, so loading them twice would gain nothing.
 */
public final class Shim {
    public static final int ERR_ARG = -1, ERR_LLAMA = -2, ERR_NO_SLOT = -3, ERR_ABORTED = -4, ERR_INTERNAL = -5;
    public static final int EDIT_DELTA = 1, EDIT_REPLACE = 2, EDIT_RANK_K = 3, EDIT_TOP_M = 4, EDIT_ALLOW = 5, EDIT_SCALE_WEIGHTS = 6,
            EDIT_STEER = 7, EDIT_TOP_P = 8;
    public static final int INFO_COUNT = 14;
    /** Ints per MoE layer from mae_model_layers: layer, gating, renorm, bias, selectable, router, output rows only. */
    public static final int LAYER_COUNT = 7;

    private static final Logger LLAMA_LOG = LoggerFactory.getLogger("dev.moeadapter.core.llama");
    private static final Logger LOG = LoggerFactory.getLogger(Shim.class);

    private static volatile Shim instance;

    private final Path directory;
    private final SymbolLookup lookup;
    private final Linker linker = Linker.nativeLinker();

    public final MethodHandle lastError, version, init;
    public final MethodHandle modelLoad, modelFree, modelInfo, modelLayers, modelMeta, modelDesc, modelIsEog;
    public final MethodHandle tokenize, tokenPiece, chatApply;
    public final MethodHandle sessionNew, sessionFree, sessionInfo, sessionLlamaDecodes, sessionAbort;
    public final MethodHandle decode, logits, nll, argmax, setEmbeddings, embedding;
    public final MethodHandle kvClear, kvRm, kvCp, kvPosMax;
    public final MethodHandle planClear, planAdd;
    public final MethodHandle traceSet, traceRouteCount, traceRoutesRead, traceProbsCount, traceProbsRead, traceReset;
    public final MethodHandle samplerNew, samplerFree, samplerSample, contrast;
    /** llama.cpp's system info, read once after initialisation (llama.cpp keeps it in a static buffer). */
    private String systemInfo = "";

    private Shim(Path directory) {
        this.directory = directory;
        this.lookup = SymbolLookup.libraryLookup(directory.resolve(NativeLibraries.SHIM), Arena.global());
        lastError = h("mae_last_error", FunctionDescriptor.of(ADDRESS));
        version = h("mae_version", FunctionDescriptor.of(ADDRESS));
        init = h("mae_init", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        modelLoad = h("mae_model_load", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
        modelFree = h("mae_model_free", FunctionDescriptor.ofVoid(ADDRESS));
        modelInfo = h("mae_model_info", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        modelLayers = h("mae_model_layers", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        modelMeta = h("mae_model_meta", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
        modelDesc = h("mae_model_desc", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        modelIsEog = h("mae_model_is_eog", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        tokenize = h("mae_tokenize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT));
        tokenPiece = h("mae_token_piece", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        chatApply = h("mae_chat_apply", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT));
        sessionNew = h("mae_session_new", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT));
        sessionFree = h("mae_session_free", FunctionDescriptor.ofVoid(ADDRESS));
        sessionInfo = h("mae_session_info", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        sessionLlamaDecodes = h("mae_session_llama_decodes", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        sessionAbort = h("mae_session_abort", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
        decode = h("mae_decode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        logits = h("mae_logits", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT));
        nll = h("mae_nll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        argmax = h("mae_argmax", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        setEmbeddings = h("mae_set_embeddings", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        embedding = h("mae_embedding", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT));
        kvClear = h("mae_kv_clear", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        kvRm = h("mae_kv_rm", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT));
        kvCp = h("mae_kv_cp", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        kvPosMax = h("mae_kv_pos_max", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        planClear = h("mae_plan_clear", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        planAdd = h("mae_plan_add", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        traceSet = h("mae_trace_set", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        traceRouteCount = h("mae_trace_route_count", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        traceRoutesRead = h("mae_trace_routes_read", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
        traceProbsCount = h("mae_trace_probs_count", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        traceProbsRead = h("mae_trace_probs_read", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
        traceReset = h("mae_trace_reset", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        samplerNew = h("mae_sampler_new", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, JAVA_FLOAT, JAVA_INT, JAVA_FLOAT, JAVA_FLOAT));
        samplerFree = h("mae_sampler_free", FunctionDescriptor.ofVoid(ADDRESS));
        samplerSample = h("mae_sampler_sample", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        contrast = h("mae_contrast", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_FLOAT, JAVA_FLOAT, ADDRESS, JAVA_INT));
    }

    /** The process's shim, loaded and initialised on first use. */
    public static Shim get() {
        Shim s = instance;
        if (s == null) {
            synchronized (Shim.class) {
                s = instance;
                if (s == null) {
                    s = load(NativeLibraries.locate());
                    instance = s;
                }
            }
        }
        return s;
    }

    private static Shim load(Path dir) {
        Shim s;
        try {
            s = new Shim(dir);
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            throw new EngineException("could not load the native engine from " + dir + ": " + e.getMessage(), e);
        }
        MemorySegment logStub = s.linker.upcallStub(LOG_UPCALL, FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS), Arena.global());
        try (Arena arena = Arena.ofConfined()) {
            s.check((int) s.init.invokeExact(arena.allocateFrom(dir.toString()), logStub, minLevel()), "initialise llama.cpp");
            MethodHandle info = s.h("mae_system_info", FunctionDescriptor.of(ADDRESS));
            s.systemInfo = ((MemorySegment) info.invokeExact()).reinterpret(Long.MAX_VALUE).getString(0);
            LOG.info("native engine ready: {} from {}; {}", s.version(), dir, s.systemInfo);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return s;
    }

    public Path directory() {
        return directory;
    }

    public String version() {
        try {
            return ((MemorySegment) version.invokeExact()).reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * llama.cpp's system info: each backend's features, e.g. {@code LLAMAFILE = 1} where the CPU backend's
     * matrix products may go to llamafile's kernels (which sum in another order than ggml's own, so that a
     * request's logits then depend on which rows share its batch).
     */
    public String systemInfo() {
        return systemInfo;
    }

    public Linker linker() {
        return linker;
    }

    /** Throws the typed exception for a negative status; returns the status otherwise. */
    public int check(int rc, String what) {
        if (rc >= 0) {
            return rc;
        }
        String msg = what + ": " + lastError();
        throw switch (rc) {
            case ERR_ARG -> new InvalidRequestException(msg);
            case ERR_NO_SLOT -> new ContextFullException(msg);
            case ERR_ABORTED -> new CancelledException(msg);
            default -> new EngineException(msg);
        };
    }

    public String lastError() {
        try {
            return ((MemorySegment) lastError.invokeExact()).reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Rethrows unchecked exceptions as they are and wraps anything else from a method handle. */
    public static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new EngineException("native call failed: " + t, t);
    }

    private MethodHandle h(String name, FunctionDescriptor fd) {
        MemorySegment sym = lookup.find(name)
                .orElseThrow(() -> new EngineException("the native shim has no symbol " + name + "; rebuild the natives"));
        return linker.downcallHandle(sym, fd);
    }

    private static int minLevel() {
        // ggml levels: 1 debug, 2 info, 3 warn, 4 error
        return LLAMA_LOG.isDebugEnabled() ? 1 : LLAMA_LOG.isInfoEnabled() ? 3 : 4;
    }

    private static final MethodHandle LOG_UPCALL;

    static {
        try {
            LOG_UPCALL = MethodHandles.lookup().findStatic(Shim.class, "onLog",
                    MethodType.methodType(void.class, int.class, MemorySegment.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static void onLog(int level, MemorySegment line) {
        try {
            String text = line.reinterpret(Long.MAX_VALUE).getString(0);
            switch (level) {
                case 4 -> LLAMA_LOG.error(text);
                case 3 -> LLAMA_LOG.warn(text);
                case 2 -> LLAMA_LOG.debug(text);
                default -> LLAMA_LOG.trace(text);
            }
        } catch (Throwable ignored) {
            // an exception must never unwind into native code
        }
    }
}
