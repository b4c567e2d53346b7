package dev.moeadapter.spring.web;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import java.util.zip.ZipException;

/**
 * Decodes a gzip-coded request body (RFC 1952) strictly: one or more whole members and nothing
 * else. {@link java.util.zip.GZIPInputStream} stops silently at bytes after the last member that
 * do not start another one, so a body with junk appended (or two bodies run together by a broken
 * client) would reach the JSON reader as its first part; here it is refused.
 */
final class GzipBody {
    private static final int FHCRC = 0x02, FEXTRA = 0x04, FNAME = 0x08, FCOMMENT = 0x10, RESERVED = 0xE0;

    private GzipBody() {
    }

    /**
     * The decoded bytes, at most {@code limit + 1} of them (more than {@code limit} means too large;
     * decoding stops there rather than inflate a bomb).
     *
     * @throws ZipException not gzip, a corrupt member, a wrong checksum or bytes after the last member
     * @throws EOFException the body ends inside a member
     */
    static byte[] decode(byte[] body, long limit) throws ZipException, EOFException {
        long cap = Math.min(limit + 1, Integer.MAX_VALUE - 8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int pos = 0;
        do {
            if (pos > 0 && (body.length - pos < 2 || u8(body, pos) != 0x1f || u8(body, pos + 1) != 0x8b)) {
                int extra = body.length - pos;
                throw new ZipException(extra + (extra == 1 ? " byte" : " bytes") + " after the end of the gzip data");
            }
            pos = afterHeader(body, pos);
            Inflater inflater = new Inflater(true);
            try {
                inflater.setInput(body, pos, body.length - pos);
                CRC32 crc = new CRC32();
                long size = 0;
                while (!inflater.finished()) {
                    int n = inflater.inflate(buf, 0, (int) Math.min(buf.length, cap - out.size()));
                    if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                        throw new EOFException("the gzip data is cut short");
                    }
                    crc.update(buf, 0, n);
                    size += n;
                    out.write(buf, 0, n);
                    if (out.size() >= cap) {
                        return out.toByteArray();
                    }
                }
                pos = body.length - inflater.getRemaining();
                if (body.length - pos < 8) {
                    throw new EOFException("the gzip data is cut short");
                }
                if (le32(body, pos) != crc.getValue() || le32(body, pos + 4) != (size & 0xFFFFFFFFL)) {
                    throw new ZipException("checksum or size does not match the data");
                }
                pos += 8;
            } catch (DataFormatException e) {
                throw new ZipException("corrupt deflate data: " + e.getMessage());
            } finally {
                inflater.end();
            }
        } while (pos < body.length);
        return out.toByteArray();
    }

    /** The offset of a member's deflate data, past its header and optional fields. */
    private static int afterHeader(byte[] b, int start) throws ZipException, EOFException {
        need(b, start, 10);
        if (u8(b, start) != 0x1f || u8(b, start + 1) != 0x8b) {
            throw new ZipException("not in gzip format");
        }
        if (u8(b, start + 2) != 8) {
            throw new ZipException("unsupported compression method " + u8(b, start + 2));
        }
        int flags = u8(b, start + 3);
        if ((flags & RESERVED) != 0) {
            throw new ZipException("reserved header flags set");
        }
        int pos = start + 10;
        if ((flags & FEXTRA) != 0) {
            need(b, pos, 2);
            pos += 2 + (u8(b, pos) | u8(b, pos + 1) << 8);
        }
        for (int field : new int[] {FNAME, FCOMMENT}) {
            if ((flags & field) != 0) {
                while (true) {
                    need(b, pos, 1);
                    if (b[pos++] == 0) {
                        break;
                    }
                }
            }
        }
        if ((flags & FHCRC) != 0) {
            need(b, pos, 2);
            CRC32 crc = new CRC32();
            crc.update(b, start, pos - start);
            if ((crc.getValue() & 0xFFFF) != (u8(b, pos) | u8(b, pos + 1) << 8)) {
                throw new ZipException("header checksum does not match");
            }
            pos += 2;
        }
        need(b, pos, 0);
        return pos;
    }

    private static void need(byte[] b, int pos, int n) throws EOFException {
        if (pos < 0 || pos > b.length - n) {
            throw new EOFException("the gzip data is cut short");
        }
    }

    private static int u8(byte[] b, int i) {
        return b[i] & 0xFF;
    }

    private static long le32(byte[] b, int i) {
        return (u8(b, i) | u8(b, i + 1) << 8 | u8(b, i + 2) << 16 | (long) u8(b, i + 3) << 24) & 0xFFFFFFFFL;
    }
}
