package dev.moeadapter.samples.lab;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Everything a training run needs to resume where it stopped: the recipe it belongs to, the last
 * completed step, and per parameter its values and Adam's two moments. Training batches are a pure
 * function of (seed, step), so nothing about the data stream needs saving. Written to a temporary
 * file and moved into place, so an interruption at any moment leaves the previous checkpoint intact.
 */
record TrainingCheckpoint(String recipe, int step, Map<String, float[][]> state) {

    private static final int MAGIC = 0x4d4f4543; // "MOEC"

    /** {@code state}: parameter name → {values, first moment, second moment}. */
    TrainingCheckpoint {
        state = Map.copyOf(state);
    }

    void save(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream os = Files.newOutputStream(tmp);
             DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(os, 1 << 20))) {
            out.writeInt(MAGIC);
            out.writeUTF(recipe);
            out.writeInt(step);
            out.writeInt(state.size());
            for (var e : new java.util.TreeMap<>(state).entrySet()) {
                out.writeUTF(e.getKey());
                for (float[] a : e.getValue()) {
                    out.writeInt(a.length);
                    for (float f : a) out.writeFloat(f);
                }
            }
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The checkpoint in {@code file}, if there is one. */
    static Optional<TrainingCheckpoint> load(Path file) throws IOException {
        if (!Files.exists(file)) return Optional.empty();
        try (InputStream is = Files.newInputStream(file);
             DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(is, 1 << 20))) {
            if (in.readInt() != MAGIC) throw new IOException(file + " is not a lab training checkpoint");
            String recipe = in.readUTF();
            int step = in.readInt(), n = in.readInt();
            Map<String, float[][]> state = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                String name = in.readUTF();
                float[][] arrays = new float[3][];
                for (int k = 0; k < 3; k++) {
                    arrays[k] = new float[in.readInt()];
                    for (int j = 0; j < arrays[k].length; j++) arrays[k][j] = in.readFloat();
                }
                state.put(name, arrays);
            }
            return Optional.of(new TrainingCheckpoint(recipe, step, state));
        }
    }
}
