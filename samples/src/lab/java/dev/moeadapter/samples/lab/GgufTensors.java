package dev.moeadapter.samples.lab;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads the metadata and the F32 tensors of a GGUF file, so the PyTorch twin is built from exactly
 * the file llama.cpp loads. Only what the lab writes is supported (F32 tensors, GGUF v3).
 */
record GgufTensors(Map<String, Object> metadata, Map<String, Tensor> tensors) {

    /** A tensor's llama.cpp dims ({@code ne}, fastest first) and its data. */
    record Tensor(long[] ne, float[] data) {
        /** PyTorch shape: {@code ne} reversed (the data order is the same). */
        long[] torchShape() {
            long[] s = new long[ne.length];
            for (int i = 0; i < ne.length; i++) s[i] = ne[ne.length - 1 - i];
            return s;
        }
    }

    static GgufTensors read(Path file) throws IOException {
        ByteBuffer b;
        try (FileChannel ch = FileChannel.open(file)) {
            b = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN);
        }
        if (b.getInt() != 0x46554747) throw new IOException(file + ": not a GGUF file");
        int version = b.getInt();
        if (version != 3) throw new IOException(file + ": GGUF version " + version + " (expected 3)");
        long nTensors = b.getLong(), nKv = b.getLong();
        Map<String, Object> meta = new HashMap<>();
        for (long i = 0; i < nKv; i++) {
            String key = string(b);
            meta.put(key, value(b, b.getInt()));
        }
        record Info(long[] ne, int type, long offset) {}
        Map<String, Info> infos = new LinkedHashMap<>();
        for (long i = 0; i < nTensors; i++) {
            String name = string(b);
            long[] ne = new long[b.getInt()];
            for (int d = 0; d < ne.length; d++) ne[d] = b.getLong();
            infos.put(name, new Info(ne, b.getInt(), b.getLong()));
        }
        long alignment = ((Number) meta.getOrDefault("general.alignment", 32)).longValue();
        long dataStart = (b.position() + alignment - 1) / alignment * alignment;
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (var e : infos.entrySet()) {
            Info info = e.getValue();
            if (info.type() != 0) throw new IOException(e.getKey() + ": only F32 tensors are supported (type " + info.type() + ")");
            long n = 1;
            for (long d : info.ne()) n *= d;
            float[] data = new float[Math.toIntExact(n)];
            b.slice(Math.toIntExact(dataStart + info.offset()), data.length * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
            tensors.put(e.getKey(), new Tensor(info.ne(), data));
        }
        return new GgufTensors(meta, tensors);
    }

    TwinShape shape() {
        String a = (String) metadata.get("general.architecture");
        return new TwinShape(a, integer(a + ".embedding_length"), integer(a + ".attention.head_count"),
                integer(a + ".block_count"), integer(a + ".expert_count"), integer(a + ".expert_used_count"),
                integer(a + ".feed_forward_length"), integer(a + ".context_length"),
                ((Number) metadata.get(a + ".attention.layer_norm_rms_epsilon")).floatValue(),
                ((Number) metadata.get(a + ".rope.freq_base")).floatValue());
    }

    private int integer(String key) {
        Object v = metadata.get(key);
        if (v == null) throw new IllegalStateException("GGUF metadata lacks " + key);
        return ((Number) v).intValue();
    }

    private static String string(ByteBuffer b) {
        byte[] s = new byte[Math.toIntExact(b.getLong())];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    private static Object value(ByteBuffer b, int type) {
        return switch (type) {
            case 0, 1 -> b.get();
            case 2, 3 -> b.getShort();
            case 4, 5 -> b.getInt();
            case 6 -> b.getFloat();
            case 7 -> b.get() != 0;
            case 8 -> string(b);
            case 9 -> {
                int t = b.getInt();
                long n = b.getLong();
                for (long i = 0; i < n; i++) value(b, t); // arrays (the vocabulary) are skipped
                yield null;
            }
            case 10, 11 -> b.getLong();
            case 12 -> b.getDouble();
            default -> throw new IllegalStateException("unknown GGUF value type " + type);
        };
    }
}
