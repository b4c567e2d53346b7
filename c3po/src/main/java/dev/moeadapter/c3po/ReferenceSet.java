package dev.moeadapter.c3po;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.engine.Model;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * A C3PO reference set, memory-mapped from its file: for each correctly answered labelled prompt
 * its embedding (centred on the set's mean and normalised, so cosine is a dot product), its pathway
 * (router probabilities of the last prompt token in every MoE layer), its prompt tokens and the
 * first tokens of its answer. Loading maps the file and checks its structure; nothing is copied.
 *
 * <p>File format, little-endian, every section 4-byte aligned:
 * <pre>
 *   "C3POREFS"  int version  int count  int dim  int experts  int layers  int idBytes(embedder)
 *   byte[32] SHA-256 of the model file   byte[idBytes] embedder id (UTF-8, padded to 4)
 *   int[layers] MoE layer indices        float[dim] mean embedding
 *   float[count·dim] embeddings          float[count·layers·experts] pathways
 *   int[count+1] prompt starts, int[]    prompt tokens
 *   int[count+1] answer starts, int[]    answer tokens
 *   int[count+1] id starts (bytes), byte[] ids (UTF-8)
 * </pre>
 * Thread-safe for reading; {@link #close()} unmaps.
 */
public final class ReferenceSet implements AutoCloseable {
    public static final int VERSION = 1;
    private static final Logger LOG = LoggerFactory.getLogger(ReferenceSet.class);
    private static final byte[] MAGIC = "C3POREFS".getBytes(StandardCharsets.US_ASCII);
    private static final int FIXED_HEADER = 32 + 32;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** What a reference set belongs to: a model file, an embedding space, and the model's MoE shape. */
    public record Header(String modelSha256, String embedderId, List<Integer> moeLayers, int experts) {
        public Header {
            Objects.requireNonNull(modelSha256, "modelSha256");
            Objects.requireNonNull(embedderId, "embedderId");
            moeLayers = List.copyOf(moeLayers);
            if (!modelSha256.matches("[0-9a-f]{64}")) {
                throw new InvalidRequestException("model SHA-256 must be 64 lower-case hex digits, got '" + modelSha256 + "'");
            }
            if (moeLayers.isEmpty() || experts < 1) {
                throw new InvalidRequestException("a reference set needs a MoE model (MoE layers and experts)");
            }
        }

        int pathwayLength() {
            return moeLayers.size() * experts;
        }
    }

    private final Path file;
    private final Arena arena;
    private final MemorySegment data;
    private final Header header;
    private final int size, dimension, layers, experts;
    private final double[] mean;
    private final long embeddingsAt, pathwaysAt, promptStartsAt, promptTokensAt, answerStartsAt, answerTokensAt,
            idStartsAt, idBytesAt;

    private ReferenceSet(Path file, Arena arena, MemorySegment data) {
        this.file = file;
        this.arena = arena;
        this.data = data;
        long length = data.byteSize();
        require(length >= FIXED_HEADER, "shorter than its header");
        require(Arrays.equals(data.asSlice(0, 8).toArray(ValueLayout.JAVA_BYTE), MAGIC), "not a C3PO reference set (bad magic)");
        int version = data.get(I32, 8);
        if (version != VERSION) {
            throw new ReferenceSetException(file + ": reference set format version " + version + ", this build reads version " + VERSION
                    + "; rebuild it with c3po-build");
        }
        size = data.get(I32, 12);
        dimension = data.get(I32, 16);
        experts = data.get(I32, 20);
        layers = data.get(I32, 24);
        int embedderBytes = data.get(I32, 28);
        require(size >= 0 && dimension >= 0 && experts > 0 && layers > 0 && embedderBytes >= 0 && embedderBytes <= 4096,
                "bad header counts");
        require(size == 0 || dimension > 0, "items without an embedding dimension");
        String sha = HexFormat.of().formatHex(data.asSlice(32, 32).toArray(ValueLayout.JAVA_BYTE));
        long at = FIXED_HEADER;
        require(at + align(embedderBytes) <= length, "truncated in its header");
        String embedderId = new String(data.asSlice(at, embedderBytes).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        at += align(embedderBytes);
        long layersAt = at;
        at = section(at, layers, "MoE layers");
        Integer[] moe = new Integer[layers];
        for (int i = 0; i < layers; i++) {
            moe[i] = data.get(I32, layersAt + 4L * i);
        }
        header = new Header(sha, embedderId, List.of(moe), experts);
        long meanAt = at;
        at = section(at, dimension, "mean embedding");
        mean = new double[dimension];
        for (int j = 0; j < dimension; j++) {
            mean[j] = data.get(F32, meanAt + 4L * j);
        }
        embeddingsAt = at;
        at = section(at, (long) size * dimension, "embeddings");
        pathwaysAt = at;
        at = section(at, (long) size * layers * experts, "pathways");
        promptStartsAt = at;
        at = section(at, size + 1L, "prompt starts");
        promptTokensAt = at;
        at = section(at, checkStarts(promptStartsAt, "prompt"), "prompt tokens");
        answerStartsAt = at;
        at = section(at, size + 1L, "answer starts");
        answerTokensAt = at;
        at = section(at, checkStarts(answerStartsAt, "answer"), "answer tokens");
        idStartsAt = at;
        at = section(at, size + 1L, "id starts");
        idBytesAt = at;
        long idBytes = checkStarts(idStartsAt, "id");
        require(idBytesAt + idBytes == length, "has " + (length - idBytesAt - idBytes) + " bytes more or fewer than its sections");
    }

    /** Maps a reference set and checks it was built for the model file with this SHA-256. */
    public static ReferenceSet load(Path file, String modelSha256) {
        long started = System.nanoTime();
        ReferenceSet set = map(file);
        if (!set.header.modelSha256().equals(modelSha256)) {
            set.close();
            throw new ReferenceSetMismatchException("reference set " + file + " was built for another model (SHA-256 "
                    + set.header.modelSha256() + "), not for the served model (SHA-256 " + modelSha256 + "); rebuild it with c3po-build");
        }
        LOG.info("reference set {}: {} items, embedding dimension {}, embedder '{}', {} MoE layers x {} experts, mapped in {} ms",
                file.getFileName(), set.size, set.dimension, set.header.embedderId(), set.layers, set.experts,
                (System.nanoTime() - started) / 1_000_000);
        return set;
    }

    /** Maps a reference set for {@code model}, fingerprinting the model file; see {@link #load(Path, String)}. */
    public static ReferenceSet load(Path file, Model model) {
        ReferenceSet set = load(file, ModelFingerprint.sha256(model.path()));
        if (!set.header.moeLayers().equals(model.info().moeLayers()) || set.experts != model.info().experts()) {
            set.close();
            throw new ReferenceSetMismatchException("reference set " + file + " describes MoE layers " + set.header.moeLayers() + " x "
                    + set.experts + " experts; the model has " + model.info().moeLayers() + " x " + model.info().experts());
        }
        return set;
    }

    private static ReferenceSet map(Path file) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment data = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return new ReferenceSet(file, arena, data);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new ReferenceSetException("reference set file not found: " + file, e);
        } catch (IOException e) {
            arena.close();
            throw new ReferenceSetException("cannot read reference set " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Writes a reference set (atomically: a temporary file moved into place). Embeddings are stored
     * centred on their mean and normalised: mean-pooled hidden states of a language model share one
     * dominant direction, so raw cosines would all be close to 1.
     */
    public static void write(Path file, Header header, List<ReferenceItem> items) {
        int n = items.size();
        int dim = n == 0 ? 0 : items.getFirst().embedding().length;
        int pathwayLength = header.pathwayLength();
        long promptTotal = 0, answerTotal = 0, idTotal = 0;
        byte[][] ids = new byte[n][];
        double[] mean = new double[dim];
        for (int i = 0; i < n; i++) {
            ReferenceItem item = items.get(i);
            float[] e = item.embedding();
            if (dim == 0 || e.length != dim) {
                throw new InvalidRequestException("item '" + item.id() + "' has an embedding of length " + e.length
                        + (dim == 0 ? "" : ", the first item's has " + dim));
            }
            if (item.pathway().length != pathwayLength) {
                throw new InvalidRequestException("item '" + item.id() + "' has a pathway of length " + item.pathway().length + ", expected " + pathwayLength);
            }
            for (int j = 0; j < dim; j++) {
                mean[j] += e[j] / (double) n;
            }
            promptTotal += item.prompt().length;
            answerTotal += item.answer().length;
            ids[i] = item.id().getBytes(StandardCharsets.UTF_8);
            idTotal += ids[i].length;
        }
        byte[] embedder = header.embedderId().getBytes(StandardCharsets.UTF_8);
        if (embedder.length > 4096) {
            throw new InvalidRequestException("embedder id longer than 4096 bytes");
        }
        long length = FIXED_HEADER + align(embedder.length) + 4L * (header.moeLayers().size() + dim + (long) n * dim + (long) n * pathwayLength
                + 3L * (n + 1) + promptTotal + answerTotal) + idTotal;
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            if (file.toAbsolutePath().getParent() != null) {
                Files.createDirectories(file.toAbsolutePath().getParent());
            }
            try (Arena arena = Arena.ofConfined();
                 FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                         StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                MemorySegment out = ch.map(FileChannel.MapMode.READ_WRITE, 0, length, arena);
                MemorySegment.copy(MAGIC, 0, out, ValueLayout.JAVA_BYTE, 0, 8);
                out.set(I32, 8, VERSION);
                out.set(I32, 12, n);
                out.set(I32, 16, dim);
                out.set(I32, 20, header.experts());
                out.set(I32, 24, header.moeLayers().size());
                out.set(I32, 28, embedder.length);
                byte[] sha = HexFormat.of().parseHex(header.modelSha256());
                MemorySegment.copy(sha, 0, out, ValueLayout.JAVA_BYTE, 32, 32);
                MemorySegment.copy(embedder, 0, out, ValueLayout.JAVA_BYTE, FIXED_HEADER, embedder.length);
                long at = FIXED_HEADER + align(embedder.length);
                for (int layer : header.moeLayers()) {
                    out.set(I32, at, layer);
                    at += 4;
                }
                for (double m : mean) {
                    out.set(F32, at, (float) m);
                    at += 4;
                }
                for (ReferenceItem item : items) {
                    at = putFloats(out, at, centredUnit(item.embedding(), mean));
                }
                for (ReferenceItem item : items) {
                    at = putFloats(out, at, item.pathway());
                }
                at = putRagged(out, at, items.stream().map(ReferenceItem::prompt).toList());
                at = putRagged(out, at, items.stream().map(ReferenceItem::answer).toList());
                int start = 0;
                for (int i = 0; i <= n; i++) {
                    out.set(I32, at, start);
                    at += 4;
                    start += i < n ? ids[i].length : 0;
                }
                for (byte[] id : ids) {
                    MemorySegment.copy(id, 0, out, ValueLayout.JAVA_BYTE, at, id.length);
                    at += id.length;
                }
                if (at != length) {
                    throw new IllegalStateException("reference set writer: wrote " + at + " of " + length + " bytes");
                }
                out.force();
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new ReferenceSetException("cannot write reference set " + file + ": " + e.getMessage(), e);
        }
    }

    public Header header() {
        return header;
    }

    public Path file() {
        return file;
    }

    public int size() {
        return size;
    }

    /** Embedding dimension (0 for an empty set). */
    public int dimension() {
        return dimension;
    }

    /** Floats of one pathway: MoE layers × experts. */
    public int pathwayLength() {
        return layers * experts;
    }

    /** The query vector in this set's space: centred on the set's mean and normalised (zero stays zero). */
    public float[] normalise(float[] embedding) {
        if (embedding.length != dimension) {
            throw new InvalidRequestException("embedding of dimension " + embedding.length + " for a reference set of dimension " + dimension);
        }
        return centredUnit(embedding, mean);
    }

    /** Cosine similarity of reference {@code i} to a vector from {@link #normalise} (hot path: unchecked). */
    float similarity(int i, float[] unitQuery) {
        long at = embeddingsAt + 4L * i * dimension;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int j = 0;
        for (; j + 3 < dimension; j += 4, at += 16) {
            s0 += data.get(F32, at) * unitQuery[j];
            s1 += data.get(F32, at + 4) * unitQuery[j + 1];
            s2 += data.get(F32, at + 8) * unitQuery[j + 2];
            s3 += data.get(F32, at + 12) * unitQuery[j + 3];
        }
        for (; j < dimension; j++, at += 4) {
            s0 += data.get(F32, at) * unitQuery[j];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Squared distance between one MoE layer's row of reference {@code i}'s pathway and {@code row} (hot path: unchecked). */
    float squaredDistance(int i, int slot, float[] row) {
        long at = pathwaysAt + 4L * ((long) i * pathwayLength() + (long) slot * experts);
        float s = 0;
        for (int e = 0; e < experts; e++, at += 4) {
            float d = data.get(F32, at) - row[e];
            s += d * d;
        }
        return s;
    }

    /** The stored (centred, unit-length) embedding of reference {@code i}. */
    public float[] embedding(int i) {
        checkIndex(i);
        return data.asSlice(embeddingsAt + 4L * i * dimension, 4L * dimension).toArray(F32);
    }

    /** Pathway of reference {@code i}: MoE layers × experts, in the order of {@link Header#moeLayers()}. */
    public float[] pathway(int i) {
        checkIndex(i);
        return data.asSlice(pathwaysAt + 4L * i * pathwayLength(), 4L * pathwayLength()).toArray(F32);
    }

    /** One MoE layer's row (by its slot in {@link Header#moeLayers()}) of reference {@code i}'s pathway. */
    public float[] pathwayRow(int i, int slot) {
        checkIndex(i);
        return data.asSlice(pathwaysAt + 4L * ((long) i * pathwayLength() + (long) slot * experts), 4L * experts).toArray(F32);
    }

    public int[] prompt(int i) {
        return ragged(promptStartsAt, promptTokensAt, i);
    }

    public int[] answer(int i) {
        return ragged(answerStartsAt, answerTokensAt, i);
    }

    public String id(int i) {
        checkIndex(i);
        int from = data.get(I32, idStartsAt + 4L * i), to = data.get(I32, idStartsAt + 4L * (i + 1));
        return new String(data.asSlice(idBytesAt + from, to - from).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    /** Reference {@code i} as an item (the embedding as stored: centred and normalised). */
    public ReferenceItem item(int i) {
        return new ReferenceItem(id(i), embedding(i), pathway(i), prompt(i), answer(i));
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    private int[] ragged(long startsAt, long valuesAt, int i) {
        checkIndex(i);
        int from = data.get(I32, startsAt + 4L * i), to = data.get(I32, startsAt + 4L * (i + 1));
        return data.asSlice(valuesAt + 4L * from, 4L * (to - from)).toArray(I32);
    }

    private void checkIndex(int i) {
        if (i < 0 || i >= size) {
            throw new InvalidRequestException("reference " + i + " out of range 0.." + (size - 1));
        }
    }

    /** Checks a starts array (non-decreasing from 0) and returns its last value, the values' count. */
    private long checkStarts(long at, String what) {
        int previous = 0;
        require(data.get(I32, at) == 0, what + " starts do not begin at 0");
        for (int i = 1; i <= size; i++) {
            int s = data.get(I32, at + 4L * i);
            require(s >= previous, what + " starts decrease at item " + i);
            previous = s;
        }
        return previous;
    }

    private long section(long at, long elements, String what) {
        long end = at + 4 * elements;
        require(elements >= 0 && end <= data.byteSize(), "truncated in its " + what);
        return end;
    }

    private void require(boolean ok, String problem) {
        if (!ok) {
            throw new ReferenceSetException("reference set " + file + " is damaged: " + problem);
        }
    }

    private static long align(long n) {
        return (n + 3) & ~3L;
    }

    private static float[] centredUnit(float[] e, double[] mean) {
        double norm = 0;
        double[] c = new double[e.length];
        for (int j = 0; j < e.length; j++) {
            c[j] = e[j] - mean[j];
            norm += c[j] * c[j];
        }
        float[] out = new float[e.length];
        if (norm > 0) {
            double inv = 1 / Math.sqrt(norm);
            for (int j = 0; j < e.length; j++) {
                out[j] = (float) (c[j] * inv);
            }
        }
        return out;
    }

    private static long putFloats(MemorySegment out, long at, float[] v) {
        MemorySegment.copy(v, 0, out, F32, at, v.length);
        return at + 4L * v.length;
    }

    private static long putRagged(MemorySegment out, long at, List<int[]> rows) {
        int start = 0;
        for (int i = 0; i <= rows.size(); i++) {
            out.set(I32, at, start);
            at += 4;
            start += i < rows.size() ? rows.get(i).length : 0;
        }
        for (int[] r : rows) {
            MemorySegment.copy(r, 0, out, I32, at, r.length);
            at += 4L * r.length;
        }
        return at;
    }
}
