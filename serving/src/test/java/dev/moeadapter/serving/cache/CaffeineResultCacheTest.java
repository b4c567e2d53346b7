package dev.moeadapter.serving.cache;

import dev.moeadapter.core.adaptation.ResultCache;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** Results are computed once per prompt and settings, bounded, and counted in the cache's statistics. */
class CaffeineResultCacheTest {
    @Test
    void computesOncePerKeyAndReportsHitsAndMisses() {
        CaffeineResultCache cache = new CaffeineResultCache(100, Duration.ofMinutes(1));
        AtomicInteger computed = new AtomicInteger();
        ResultCache.Key key = ResultCache.Key.of("test.neighbours", "k=3", new int[]{1, 2, 3});
        for (int i = 0; i < 3; i++) {
            List<Integer> v = cache.get(key, List.class, () -> List.of(computed.incrementAndGet()));
            assertThat(v).containsExactly(1);
        }
        assertThat(ResultCache.Key.of("test.neighbours", "k=3", new int[]{1, 2, 3})).isEqualTo(key);
        ResultCache.Key otherPrompt = ResultCache.Key.of("test.neighbours", "k=3", new int[]{1, 2, 4});
        ResultCache.Key otherSettings = ResultCache.Key.of("test.neighbours", "k=5", new int[]{1, 2, 3});
        assertThat(otherPrompt).isNotEqualTo(key);
        cache.get(otherPrompt, List.class, () -> List.of(computed.incrementAndGet()));
        cache.get(otherSettings, List.class, () -> List.of(computed.incrementAndGet()));
        assertThat(computed).hasValue(3);
        assertThat(cache.cache().stats().hitCount()).isEqualTo(2);
        assertThat(cache.cache().stats().missCount()).isEqualTo(3);
    }
}
