package dev.moeadapter.core.adaptation;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/** An unbounded result cache for tests of the methods: counts lookups that found a value and values computed. */
public final class CountingResultCache implements ResultCache {
    private final Map<Key, Object> values = new ConcurrentHashMap<>();
    private final AtomicInteger hits = new AtomicInteger();
    private final AtomicInteger computed = new AtomicInteger();

    @Override
    public <V> V get(Key key, Class<V> type, Supplier<V> compute) {
        Object held = values.get(key);
        if (held != null) {
            hits.incrementAndGet();
            return type.cast(held);
        }
        V value = compute.get();
        computed.incrementAndGet();
        values.put(key, value);
        return value;
    }

    public int hits() {
        return hits.get();
    }

    /** Lookups that ran their computation (and kept its value). */
    public int computed() {
        return computed.get();
    }

    public int size() {
        return values.size();
    }
}
