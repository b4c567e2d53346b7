package dev.moeadapter.core.adaptation;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Adaptation results worth reusing across requests (C3PO's neighbours and pathways for a prompt,
 * rerouting's router deltas for a conversation prefix), keyed by what determines them. Cached values
 * must be immutable; an implementation bounds its size, so any entry may be gone the next time.
 */
public interface ResultCache {
    /** No reuse: every lookup computes. */
    ResultCache NONE = new ResultCache() {
        @Override
        public <V> V get(Key key, Class<V> type, Supplier<V> compute) {
            return compute.get();
        }
    };

    /** The cached value for {@code key}, computed by {@code compute} (and kept) when there is none. */
    <V> V get(Key key, Class<V> type, Supplier<V> compute);

    /**
     * @param kind     what is cached, e.g. "c3po.neighbours"; one kind holds one value type
     * @param settings the settings that shaped the value, in a stable text form
     * @param content  a SHA-256 of the tokens the value was computed from
     */
    record Key(String kind, String settings, String content) {
        public Key {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(settings, "settings");
            Objects.requireNonNull(content, "content");
        }

        public static Key of(String kind, Object settings, int[] tokens) {
            ByteBuffer bytes = ByteBuffer.allocate(4 * tokens.length);
            bytes.asIntBuffer().put(tokens);
            try {
                return new Key(kind, String.valueOf(settings),
                        HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.array())));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("every JDK has SHA-256", e);
            }
        }
    }
}
