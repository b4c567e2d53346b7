package dev.moeadapter.spring.metrics;

import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelInfo;
import dev.moeadapter.serving.generation.SessionPool;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/** Reports the model being served and how many sessions are free; up while the model is loaded. */
public final class ModelHealthIndicator implements HealthIndicator {
    private final Model model;
    private final SessionPool pool;

    public ModelHealthIndicator(Model model, SessionPool pool) {
        this.model = model;
        this.pool = pool;
    }

    @Override
    public Health health() {
        ModelInfo i = model.info();
        return Health.up()
                .withDetail("model", model.path().getFileName().toString())
                .withDetail("architecture", i.architecture())
                .withDetail("layers", i.layers())
                .withDetail("moeLayers", i.moeLayers().size())
                .withDetail("experts", i.experts())
                .withDetail("topK", i.expertsUsed())
                .withDetail("sessionsFree", pool.available())
                .withDetail("sessionsTotal", pool.size())
                .build();
    }
}
