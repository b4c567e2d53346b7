package dev.moeadapter.core.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Minimal GGUF v3 writer (little-endian): metadata key/values, F32/F16 tensors and I32 index tensors.
 *
 * <p>Usage: collect metadata and tensor declarations, then {@link #write(Path)}. The GGUF header
 * must list every tensor (name, shape, type, offset) before any tensor data, so declarations are
 * collected first; the data itself is pulled lazily from each tensor's {@link TensorData} callback
 * while writing, so a large model never has to be held in memory.
 *
 * <p>Not thread-safe. A writer may be written more than once; callbacks are invoked again each time.
 */
public final class GgufWriter {

    /** GGUF's default alignment; llama.cpp assumes it when {@code general.alignment} is absent. */
    public static final int DEFAULT_ALIGNMENT = 32;
    /** Written by the writer itself so the header always agrees with the padding actually used. */
    public static final String ALIGNMENT_KEY = "general.alignment";

    private static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
    private static final int VERSION = 3;
    private static final int MAX_DIMS = 4;       // GGML_MAX_DIMS
    private static final int MAX_NAME_BYTES = 63; // GGML_MAX_NAME is 64 including the NUL
    private static final int MAX_KEY_BYTES = 65_535;
    private static final int BUFFER_BYTES = 1 << 20;

    // GGUF metadata value type ids (gguf_type).
    private static final int T_UINT32 = 4, T_INT32 = 5, T_FLOAT32 = 6, T_BOOL = 7, T_STRING = 8, T_ARRAY = 9;

    /** Tensor element types supported by this writer, with their ggml type id and element size. */
    public enum TensorType {
        F32(0, 4), F16(1, 2),
        /** Integer table (DeepSeek-V4's token-to-expert map); its values arrive as whole floats and are rounded. */
        I32(26, 4);

        private final int ggmlId;
        private final int bytes;

        TensorType(int ggmlId, int bytes) {
            this.ggmlId = ggmlId;
            this.bytes = bytes;
        }

        public int ggmlId() { return ggmlId; }

        public int bytesPerElement() { return bytes; }
    }

    // ---------------------------------------------------------------- metadata values

    /** A GGUF metadata value. Array-valued records copy defensively so values stay immutable. */
    public sealed interface Value permits Str, UInt32, Int32, Float32, Bool, StrArray, Float32Array, Int32Array {}

    public record Str(String value) implements Value {
        public Str { Objects.requireNonNull(value, "value"); }
    }

    /** Unsigned 32-bit value held in a long so the full range is expressible without sign tricks. */
    public record UInt32(long value) implements Value {
        public UInt32 {
            if (value < 0 || value > 0xFFFF_FFFFL) {
                throw new IllegalArgumentException("uint32 out of range: " + value);
            }
        }
    }

    public record Int32(int value) implements Value {}

    public record Float32(float value) implements Value {}

    public record Bool(boolean value) implements Value {}

    public record StrArray(List<String> values) implements Value {
        public StrArray { values = List.copyOf(values); } // also rejects null elements
    }

    public record Float32Array(float[] values) implements Value {
        public Float32Array { values = values.clone(); }

        @Override public float[] values() { return values.clone(); }

        @Override public boolean equals(Object o) { return o instanceof Float32Array a && Arrays.equals(values, a.values); }

        @Override public int hashCode() { return Arrays.hashCode(values); }

        @Override public String toString() { return "Float32Array[" + values.length + "]"; }
    }

    public record Int32Array(int[] values) implements Value {
        public Int32Array { values = values.clone(); }

        @Override public int[] values() { return values.clone(); }

        @Override public boolean equals(Object o) { return o instanceof Int32Array a && Arrays.equals(values, a.values); }

        @Override public int hashCode() { return Arrays.hashCode(values); }

        @Override public String toString() { return "Int32Array[" + values.length + "]"; }
    }

    // ---------------------------------------------------------------- tensor data callbacks

    /** Receives a tensor's elements in ggml order (ne[0] fastest), in as many chunks as convenient. */
    @FunctionalInterface
    public interface FloatSink {
        void put(float[] values, int offset, int length) throws IOException;

        default void put(float[] values) throws IOException { put(values, 0, values.length); }
    }

    /**
     * Produces one tensor's data on demand. Must push exactly the tensor's element count into the
     * sink; the writer converts to the declared type and fails if the count is wrong.
     */
    @FunctionalInterface
    public interface TensorData {
        void writeTo(FloatSink sink) throws IOException;

        /** All elements equal to {@code value}, e.g. RMS-norm weights of 1. */
        static TensorData constant(float value, long count) {
            if (count < 0) throw new IllegalArgumentException("count must be >= 0: " + count);
            return sink -> {
                float[] chunk = new float[(int) Math.min(count, 4096)];
                Arrays.fill(chunk, value);
                for (long left = count; left > 0; left -= chunk.length) {
                    sink.put(chunk, 0, (int) Math.min(left, chunk.length));
                }
            };
        }

        /** Data already in memory (small tensors). The array is copied. */
        static TensorData of(float[] values) {
            float[] copy = values.clone();
            return sink -> sink.put(copy);
        }
    }

    /** Declared tensor: shape in ggml order (ne[0] is the contiguous dimension). */
    private record Tensor(String name, TensorType type, long[] ne, long elements, TensorData data) {
        long bytes() { return elements * type.bytesPerElement(); }
    }

    // ---------------------------------------------------------------- state

    private final int alignment;
    private final Map<String, Value> metadata = new LinkedHashMap<>(); // insertion order = file order
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    public GgufWriter() { this(DEFAULT_ALIGNMENT); }

    /** @param alignment data alignment in bytes; a power of two that is at least 8 (a u64 field's size). */
    public GgufWriter(int alignment) {
        if (alignment < 8 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two >= 8: " + alignment);
        }
        this.alignment = alignment;
    }

    public int alignment() { return alignment; }

    /** Snapshot of the metadata set so far (without the implicit {@value #ALIGNMENT_KEY}). */
    public Map<String, Value> metadata() { return Map.copyOf(metadata); }

    public int tensorCount() { return tensors.size(); }

    // ---------------------------------------------------------------- metadata API

    public GgufWriter put(String key, Value value) {
        validateKey(key);
        Objects.requireNonNull(value, "value");
        if (ALIGNMENT_KEY.equals(key)) {
            throw new IllegalArgumentException(ALIGNMENT_KEY + " is derived from the constructor's alignment; do not set it");
        }
        if (metadata.putIfAbsent(key, value) != null) {
            throw new IllegalArgumentException("duplicate metadata key: " + key);
        }
        return this;
    }

    /** Removes a metadata key if present (e.g. to set it again with another value or type). */
    public GgufWriter remove(String key) {
        metadata.remove(key);
        return this;
    }

    public GgufWriter putString(String key, String value) { return put(key, new Str(value)); }

    public GgufWriter putUInt32(String key, long value) { return put(key, new UInt32(value)); }

    public GgufWriter putInt32(String key, int value) { return put(key, new Int32(value)); }

    public GgufWriter putFloat32(String key, float value) { return put(key, new Float32(value)); }

    public GgufWriter putBool(String key, boolean value) { return put(key, new Bool(value)); }

    public GgufWriter putStringArray(String key, List<String> values) { return put(key, new StrArray(values)); }

    public GgufWriter putFloat32Array(String key, float[] values) { return put(key, new Float32Array(values)); }

    public GgufWriter putInt32Array(String key, int[] values) { return put(key, new Int32Array(values)); }

    // ---------------------------------------------------------------- tensor API

    /**
     * Declares a tensor. Tensors are written in declaration order.
     *
     * @param ne shape in ggml order, 1 to 4 dimensions, each >= 1 (e.g. a [rows][cols] matrix is {cols, rows})
     */
    public GgufWriter addTensor(String name, TensorType type, long[] ne, TensorData data) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(ne, "ne");
        Objects.requireNonNull(data, "data");
        int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (nameBytes == 0 || nameBytes > MAX_NAME_BYTES) {
            throw new IllegalArgumentException("tensor name must be 1.." + MAX_NAME_BYTES + " UTF-8 bytes: '" + name + "'");
        }
        if (ne.length < 1 || ne.length > MAX_DIMS) {
            throw new IllegalArgumentException("tensor '" + name + "' must have 1.." + MAX_DIMS + " dims, got " + ne.length);
        }
        long elements = 1;
        for (long d : ne) {
            if (d < 1) throw new IllegalArgumentException("tensor '" + name + "' has non-positive dim in " + Arrays.toString(ne));
            try {
                elements = Math.multiplyExact(elements, d);
                Math.multiplyExact(elements, (long) type.bytesPerElement());
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("tensor '" + name + "' is too large: " + Arrays.toString(ne), e);
            }
        }
        if (tensors.containsKey(name)) {
            throw new IllegalArgumentException("duplicate tensor name: " + name);
        }
        tensors.put(name, new Tensor(name, type, ne.clone(), elements, data));
        return this;
    }

    /** Removes a declared tensor if present. */
    public GgufWriter removeTensor(String name) {
        tensors.remove(name);
        return this;
    }

    /** Varargs convenience: {@code addTensor("output_norm.weight", F32, data, 64)}. */
    public GgufWriter addTensor(String name, TensorType type, TensorData data, long... ne) {
        return addTensor(name, type, ne, data);
    }

    // ---------------------------------------------------------------- writing

    /**
     * Writes the file, returning its size in bytes. Goes through a sibling temp file and a rename so
     * that a failing data callback never leaves a truncated model behind under the final name.
     *
     * @throws IllegalStateException if a {@link TensorData} pushes the wrong number of elements
     */
    public long write(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        Path abs = file.toAbsolutePath();
        Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
        long size;
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            Out out = new Out(ch);
            writeHeader(out);
            for (Tensor t : tensors.values()) {
                writeData(out, t);
            }
            out.flush();
            size = out.position;
        } catch (IOException | RuntimeException | Error e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        try {
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
        }
        return size;
    }

    private void writeHeader(Out out) throws IOException {
        out.i32(MAGIC);
        out.i32(VERSION);
        out.i64(tensors.size());
        out.i64(metadata.size() + 1L);
        for (Map.Entry<String, Value> e : metadata.entrySet()) {
            out.str(e.getKey());
            writeValue(out, e.getValue());
        }
        out.str(ALIGNMENT_KEY);
        writeValue(out, new UInt32(alignment));

        long offset = 0; // relative to the start of the data section; llama.cpp requires exact packing
        for (Tensor t : tensors.values()) {
            out.str(t.name);
            out.i32(t.ne.length);
            for (long d : t.ne) out.i64(d);
            out.i32(t.type.ggmlId());
            out.i64(offset);
            offset += pad(t.bytes());
        }
        out.zeros(pad(out.position) - out.position);
    }

    private static void writeValue(Out out, Value v) throws IOException {
        switch (v) {
            case Str s -> { out.i32(T_STRING); out.str(s.value()); }
            case UInt32 u -> { out.i32(T_UINT32); out.i32((int) u.value()); }
            case Int32 i -> { out.i32(T_INT32); out.i32(i.value()); }
            case Float32 f -> { out.i32(T_FLOAT32); out.f32(f.value()); }
            case Bool b -> { out.i32(T_BOOL); out.i8(b.value() ? 1 : 0); }
            case StrArray a -> {
                out.i32(T_ARRAY); out.i32(T_STRING); out.i64(a.values().size());
                for (String s : a.values()) out.str(s);
            }
            case Float32Array a -> {
                float[] vs = a.values;  // direct field access: no need for the defensive copy here
                out.i32(T_ARRAY); out.i32(T_FLOAT32); out.i64(vs.length);
                for (float f : vs) out.f32(f);
            }
            case Int32Array a -> {
                int[] vs = a.values;
                out.i32(T_ARRAY); out.i32(T_INT32); out.i64(vs.length);
                for (int i : vs) out.i32(i);
            }
        }
    }

    private void writeData(Out out, Tensor t) throws IOException {
        long start = out.position;
        long[] count = {0};
        FloatSink sink = (values, off, len) -> {
            Objects.checkFromIndexSize(off, len, values.length);
            if (count[0] + len > t.elements) {
                throw new IllegalStateException("tensor '" + t.name + "' received more than " + t.elements + " elements");
            }
            count[0] += len;
            switch (t.type) {
                case F32 -> out.f32s(values, off, len);
                case F16 -> out.f16s(values, off, len);
                case I32 -> out.i32s(values, off, len);
            }
        };
        t.data.writeTo(sink);
        if (count[0] != t.elements) {
            throw new IllegalStateException("tensor '" + t.name + "' received " + count[0] + " of " + t.elements + " elements");
        }
        out.zeros(pad(t.bytes()) - (out.position - start));
    }

    private long pad(long n) {
        return (n + alignment - 1) & -(long) alignment;
    }

    private static void validateKey(String key) {
        Objects.requireNonNull(key, "key");
        if (key.isEmpty() || key.length() > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("metadata key must be 1.." + MAX_KEY_BYTES + " chars: '" + key + "'");
        }
        // GGUF keys are ASCII dotted identifiers; rejecting anything else catches typos such as stray spaces.
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c <= 0x20 || c >= 0x7F) {
                throw new IllegalArgumentException("metadata key must be printable ASCII without spaces: '" + key + "'");
            }
        }
    }

    /** Buffered little-endian channel writer that tracks the absolute file position. */
    private static final class Out {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long position;

        Out(FileChannel ch) { this.ch = ch; }

        private void need(int n) throws IOException {
            if (buf.remaining() < n) flush();
        }

        void flush() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) ch.write(buf);
            buf.clear();
        }

        void i8(int v) throws IOException { need(1); buf.put((byte) v); position += 1; }

        void i32(int v) throws IOException { need(4); buf.putInt(v); position += 4; }

        void i64(long v) throws IOException { need(8); buf.putLong(v); position += 8; }

        void f32(float v) throws IOException { need(4); buf.putFloat(v); position += 4; }

        void str(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            for (int off = 0; off < b.length; ) { // strings may exceed the buffer (long chat templates)
                need(1);
                int n = Math.min(buf.remaining(), b.length - off);
                buf.put(b, off, n);
                off += n;
                position += n;
            }
        }

        void zeros(long n) throws IOException {
            for (long i = 0; i < n; i++) i8(0);
        }

        void f32s(float[] v, int off, int len) throws IOException {
            while (len > 0) {
                need(4);
                int n = Math.min(len, buf.remaining() / 4);
                for (int i = 0; i < n; i++) buf.putFloat(v[off + i]);
                off += n;
                len -= n;
                position += 4L * n;
            }
        }

        void i32s(float[] v, int off, int len) throws IOException {
            for (int i = 0; i < len; i++) i32(Math.round(v[off + i]));
        }

        void f16s(float[] v, int off, int len) throws IOException {
            while (len > 0) {
                need(2);
                int n = Math.min(len, buf.remaining() / 2);
                for (int i = 0; i < n; i++) buf.putShort(Float.floatToFloat16(v[off + i]));
                off += n;
                len -= n;
                position += 2L * n;
            }
        }
    }
}
