package dev.moeadapter.c3po;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class ReferenceSetFileTest {
    private static final String SHA = "ab".repeat(32);
    private static final ReferenceSet.Header HEADER = new ReferenceSet.Header(SHA, "test-embedder", List.of(1, 3, 5), 4);

    @TempDir
    Path dir;

    private static List<ReferenceItem> items(int n, int dim) {
        Random r = new Random(7);
        List<ReferenceItem> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[] e = new float[dim];
            for (int j = 0; j < dim; j++) {
                e[j] = 3 + (float) r.nextGaussian(); // a large common offset, as mean-pooled hidden states have
            }
            float[] p = new float[12];
            for (int j = 0; j < p.length; j++) {
                p[j] = r.nextFloat();
            }
            int[] prompt = r.ints(1 + r.nextInt(9), 0, 300).toArray();
            int[] answer = r.ints(1 + r.nextInt(3), 0, 300).toArray();
            out.add(new ReferenceItem("item-" + i + (i % 2 == 0 ? "-ü" : ""), e, p, prompt, answer));
        }
        return out;
    }

    @Test
    void roundTripKeepsEverythingAndStoresCentredUnitEmbeddings() {
        Path file = dir.resolve("set.c3po");
        List<ReferenceItem> items = items(25, 10);
        ReferenceSet.write(file, HEADER, items);
        try (ReferenceSet set = ReferenceSet.load(file, SHA)) {
            assertThat(set.header()).isEqualTo(HEADER);
            assertThat(set.size()).isEqualTo(25);
            assertThat(set.dimension()).isEqualTo(10);
            double[] mean = new double[10];
            items.forEach(it -> {
                for (int j = 0; j < 10; j++) {
                    mean[j] += it.embedding()[j] / 25.0;
                }
            });
            for (int i = 0; i < items.size(); i++) {
                ReferenceItem it = items.get(i);
                assertThat(set.id(i)).isEqualTo(it.id());
                assertThat(set.pathway(i)).isEqualTo(it.pathway());
                assertThat(set.pathwayRow(i, 2)).isEqualTo(Arrays.copyOfRange(it.pathway(), 8, 12));
                assertThat(set.prompt(i)).isEqualTo(it.prompt());
                assertThat(set.answer(i)).isEqualTo(it.answer());
                float[] stored = set.embedding(i);
                double norm = 0;
                for (float v : stored) {
                    norm += v * v;
                }
                assertThat(norm).isCloseTo(1.0, within(1e-5));
                float[] query = set.normalise(it.embedding());
                assertThat(query).containsExactly(stored, within(1e-6f));
                assertThat(dot(set.embedding(i), query)).isCloseTo(1f, within(1e-5f));
            }
            // centring: the stored vectors average to (about) zero, so cosines spread instead of all being ≈ 1
            double maxOther = -1;
            for (int i = 1; i < items.size(); i++) {
                maxOther = Math.max(maxOther, dot(set.embedding(i), set.embedding(0)));
            }
            assertThat(maxOther).isLessThan(0.9);
        }
    }

    @Test
    void anEmptySetRoundTrips() {
        Path file = dir.resolve("empty.c3po");
        ReferenceSet.write(file, HEADER, List.of());
        try (ReferenceSet set = ReferenceSet.load(file, SHA)) {
            assertThat(set.size()).isZero();
            assertThat(set.header().moeLayers()).containsExactly(1, 3, 5);
        }
    }

    @Test
    void anotherModelsHashIsRefused() {
        Path file = dir.resolve("set.c3po");
        ReferenceSet.write(file, HEADER, items(3, 4));
        assertThatThrownBy(() -> ReferenceSet.load(file, "cd".repeat(32)))
                .isInstanceOf(ReferenceSetMismatchException.class)
                .hasMessageContaining("built for another model").hasMessageContaining(SHA).hasMessageContaining("cd".repeat(32));
    }

    @Test
    void damagedFilesAreRefusedWithTheReason() throws IOException {
        Path file = dir.resolve("set.c3po");
        ReferenceSet.write(file, HEADER, items(5, 6));
        byte[] bytes = Files.readAllBytes(file);

        Path truncated = dir.resolve("truncated.c3po");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 9));
        assertThatThrownBy(() -> ReferenceSet.load(truncated, SHA)).isInstanceOf(ReferenceSetException.class).hasMessageContaining("damaged");

        Path padded = dir.resolve("padded.c3po");
        Files.write(padded, Arrays.copyOf(bytes, bytes.length + 4));
        assertThatThrownBy(() -> ReferenceSet.load(padded, SHA)).isInstanceOf(ReferenceSetException.class).hasMessageContaining("more or fewer");

        byte[] magic = bytes.clone();
        magic[0] = 'X';
        Path badMagic = dir.resolve("magic.c3po");
        Files.write(badMagic, magic);
        assertThatThrownBy(() -> ReferenceSet.load(badMagic, SHA)).isInstanceOf(ReferenceSetException.class).hasMessageContaining("bad magic");

        byte[] version = bytes.clone();
        ByteBuffer.wrap(version).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 99);
        Path newer = dir.resolve("version.c3po");
        Files.write(newer, version);
        assertThatThrownBy(() -> ReferenceSet.load(newer, SHA)).isInstanceOf(ReferenceSetException.class)
                .hasMessageContaining("version 99").hasMessageContaining("reads version 1");

        assertThatThrownBy(() -> ReferenceSet.load(dir.resolve("missing.c3po"), SHA))
                .isInstanceOf(ReferenceSetException.class).hasMessageContaining("not found");
    }

    @Test
    void inconsistentItemsAreRefusedBeforeWriting() {
        List<ReferenceItem> mixed = new ArrayList<>(items(2, 4));
        mixed.add(new ReferenceItem("short", new float[3], new float[12], new int[]{1}, new int[]{2}));
        assertThatThrownBy(() -> ReferenceSet.write(dir.resolve("x.c3po"), HEADER, mixed)).hasMessageContaining("length 3");
        List<ReferenceItem> badPathway = List.of(new ReferenceItem("p", new float[4], new float[5], new int[]{1}, new int[]{2}));
        assertThatThrownBy(() -> ReferenceSet.write(dir.resolve("y.c3po"), HEADER, badPathway)).hasMessageContaining("pathway of length 5");
        assertThat(dir.resolve("x.c3po")).doesNotExist();
    }

    private static float dot(float[] a, float[] b) {
        float s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
