package dev.moeadapter.core.generation;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Turns token bytes into text, holding back a multi-byte character until all its bytes arrived. */
final class Utf8Accumulator {
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    /** Appends bytes and returns the text that is now complete. */
    String append(byte[] bytes) {
        pending.writeBytes(bytes);
        byte[] all = pending.toByteArray();
        int complete = completePrefix(all);
        pending.reset();
        pending.write(all, complete, all.length - complete);
        return new String(all, 0, complete, StandardCharsets.UTF_8);
    }

    /** Whatever is left, malformed bytes replaced. */
    String flush() {
        String s = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        return s;
    }

    static int completePrefix(byte[] b) {
        // look back at most 3 bytes for the start of a character whose bytes are not all here yet
        for (int back = 1; back <= Math.min(3, b.length); back++) {
            int lead = b[b.length - back] & 0xFF;
            if ((lead & 0xC0) == 0x80) {
                continue; // continuation byte
            }
            int need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
            return need > back ? b.length - back : b.length;
        }
        return b.length;
    }

    @Override
    public String toString() {
        return "Utf8Accumulator" + Arrays.toString(pending.toByteArray());
    }
}
