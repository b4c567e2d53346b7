package dev.moeadapter.spring.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.moeadapter.core.adaptation.ResultCache;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.cache.CaffeineCacheMetrics;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * The adaptation-result cache of the service: bounded by entries, entries dropped when unused for a
 * while, with hit/miss/eviction metrics ({@code cache.*} tagged {@code cache=moe.adapter.adaptation}).
 */
public final class CaffeineResultCache implements ResultCache {
    private final Cache<Key, Object> cache;

    public CaffeineResultCache(long maxEntries, Duration expireAfterAccess, MeterRegistry meters) {
        this.cache = Caffeine.newBuilder().maximumSize(maxEntries).expireAfterAccess(expireAfterAccess).recordStats().build();
        CaffeineCacheMetrics.monitor(meters, cache, "moe.adapter.adaptation");
    }

    @Override
    public <V> V get(Key key, Class<V> type, Supplier<V> compute) {
        return type.cast(cache.get(key, k -> compute.get()));
    }

    public long size() {
        return cache.estimatedSize();
    }
}
