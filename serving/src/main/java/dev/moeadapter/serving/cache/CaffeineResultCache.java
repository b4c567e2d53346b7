package dev.moeadapter.serving.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.moeadapter.core.adaptation.ResultCache;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * The adaptation-result cache of the service: bounded by entries, entries dropped when unused for a
 * while, recording hits, misses and evictions for a metrics binder ({@link #cache()}).
 */
public final class CaffeineResultCache implements ResultCache {
    private final Cache<Key, Object> cache;

    public CaffeineResultCache(long maxEntries, Duration expireAfterAccess) {
        this.cache = Caffeine.newBuilder().maximumSize(maxEntries).expireAfterAccess(expireAfterAccess).recordStats().build();
    }

    /** The underlying cache, for metrics binders. */
    public Cache<Key, Object> cache() {
        return cache;
    }

    @Override
    public <V> V get(Key key, Class<V> type, Supplier<V> compute) {
        return type.cast(cache.get(key, k -> compute.get()));
    }

    public long size() {
        return cache.estimatedSize();
    }
}
