package dev.moeadapter.spring.web;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GzipBodyTest {
    private static final byte[] TEXT = "{\"prompt\":\"REV:abc=cba,bfa=\"}".getBytes(StandardCharsets.UTF_8);

    @Test
    void aMemberWithEveryOptionalHeaderFieldDecodes() throws Exception {
        byte[] member = member(TEXT, 0x02 | 0x04 | 0x08 | 0x10, false);
        assertThat(GzipBody.decode(member, 1000)).isEqualTo(TEXT);
    }

    @Test
    void membersRunTogetherAreOneBodyAndAnythingElseAfterThemIsRefused() throws Exception {
        byte[] a = java(Arrays.copyOf(TEXT, 10)), b = java(Arrays.copyOfRange(TEXT, 10, TEXT.length));
        assertThat(GzipBody.decode(concat(a, b), 1000)).isEqualTo(TEXT);
        assertThatThrownBy(() -> GzipBody.decode(concat(java(TEXT), new byte[] {0}), 1000))
                .isInstanceOf(ZipException.class).hasMessage("1 byte after the end of the gzip data");
        assertThatThrownBy(() -> GzipBody.decode(concat(java(TEXT), "{}".getBytes(StandardCharsets.UTF_8)), 1000))
                .isInstanceOf(ZipException.class).hasMessageContaining("after the end of the gzip data");
        // a second header that starts right but is cut short
        assertThatThrownBy(() -> GzipBody.decode(concat(java(TEXT), new byte[] {0x1f, (byte) 0x8b, 8}), 1000))
                .isInstanceOf(EOFException.class);
    }

    @Test
    void aCorruptOrCutShortMemberIsRefused() throws Exception {
        byte[] good = java(TEXT);
        for (int cut = 1; cut < good.length; cut++) {
            byte[] shorter = Arrays.copyOf(good, cut);
            assertThatThrownBy(() -> GzipBody.decode(shorter, 1000)).as("cut at " + cut)
                    .isInstanceOfAny(EOFException.class, ZipException.class);
        }
        byte[] wrongCrc = good.clone();
        wrongCrc[wrongCrc.length - 8] ^= 1;
        assertThatThrownBy(() -> GzipBody.decode(wrongCrc, 1000)).hasMessageContaining("checksum");
        assertThatThrownBy(() -> GzipBody.decode(member(TEXT, 0x02, true), 1000)).hasMessageContaining("header checksum");
        byte[] reserved = good.clone();
        reserved[3] = (byte) 0x20;
        assertThatThrownBy(() -> GzipBody.decode(reserved, 1000)).hasMessageContaining("reserved");
        assertThatThrownBy(() -> GzipBody.decode(TEXT, 1000)).hasMessage("not in gzip format");
        assertThatThrownBy(() -> GzipBody.decode(new byte[0], 1000)).isInstanceOf(EOFException.class);
    }

    @Test
    void decodingStopsOneByteOverTheLimit() throws Exception {
        byte[] bomb = java(new byte[5_000_000]);
        assertThat(GzipBody.decode(bomb, 1000)).hasSize(1001);
        assertThat(GzipBody.decode(java(TEXT), TEXT.length)).isEqualTo(TEXT);
    }

    private static byte[] java(byte[] data) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(bytes)) {
            out.write(data);
        }
        return bytes.toByteArray();
    }

    /** A member written by hand, with the header fields {@code flags} names (FHCRC, FEXTRA, FNAME, FCOMMENT). */
    private static byte[] member(byte[] data, int flags, boolean wrongHeaderCrc) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {0x1f, (byte) 0x8b, 8, (byte) flags, 0, 0, 0, 0, 0, 3});
        if ((flags & 0x04) != 0) {
            out.writeBytes(new byte[] {4, 0, 'a', 'b', 2, 0});
        }
        if ((flags & 0x08) != 0) {
            out.writeBytes("body.json\0".getBytes(StandardCharsets.ISO_8859_1));
        }
        if ((flags & 0x10) != 0) {
            out.writeBytes("a comment\0".getBytes(StandardCharsets.ISO_8859_1));
        }
        if ((flags & 0x02) != 0) {
            CRC32 crc = new CRC32();
            crc.update(out.toByteArray());
            int value = (int) crc.getValue() ^ (wrongHeaderCrc ? 1 : 0);
            out.writeBytes(new byte[] {(byte) value, (byte) (value >> 8)});
        }
        Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        deflater.setInput(data);
        deflater.finish();
        byte[] buf = new byte[data.length + 64];
        out.write(buf, 0, deflater.deflate(buf));
        deflater.end();
        CRC32 crc = new CRC32();
        crc.update(data);
        out.writeBytes(le32(crc.getValue()));
        out.writeBytes(le32(data.length));
        return out.toByteArray();
    }

    private static byte[] le32(long v) {
        return new byte[] {(byte) v, (byte) (v >> 8), (byte) (v >> 16), (byte) (v >> 24)};
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
