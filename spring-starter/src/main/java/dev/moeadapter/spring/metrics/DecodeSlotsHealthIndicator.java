package dev.moeadapter.spring.metrics;

import dev.moeadapter.serving.generation.SessionPool;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;

/**
 * Whether a decode slot (a session) is free: {@code UP}, or {@link #BUSY} while every one is in use.
 * Meant for the readiness probe (a replica with no free slot should get no new traffic), not for
 * overall health: {@code BUSY} is outside Spring Boot's default status order, so the overall status
 * ignores it, and a readiness group that lists it maps it to 503 (see the service's
 * application.properties).
 */
public final class DecodeSlotsHealthIndicator implements HealthIndicator {
    public static final Status BUSY = new Status("BUSY", "every decode slot is in use");

    private final SessionPool pool;

    public DecodeSlotsHealthIndicator(SessionPool pool) {
        this.pool = pool;
    }

    @Override
    public Health health() {
        int free = pool.available();
        return Health.status(free > 0 ? Status.UP : BUSY).withDetail("free", free).withDetail("total", pool.size()).build();
    }
}
