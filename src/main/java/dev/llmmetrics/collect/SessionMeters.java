package dev.llmmetrics.collect;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The per-session meters of one session, one {@link SessionModelMeters} per model it used. Looking up
 * existing meters takes no lock; creating and removing them hold this session's monitor, so that meters
 * are never registered for a session already removed.
 */
final class SessionMeters {

    final String sessionId;
    private final ConcurrentHashMap<String, SessionModelMeters> byModel = new ConcurrentHashMap<>(2);
    private volatile long lastActiveMs;
    private boolean removed;

    SessionMeters(String sessionId, long nowMs) {
        this.sessionId = sessionId;
        this.lastActiveMs = nowMs;
    }

    long lastActiveMs() {
        return lastActiveMs;
    }

    void touch(long nowMs) {
        lastActiveMs = nowMs;
    }

    /** The meters for {@code model}, or {@code null} if this session was removed meanwhile. */
    SessionModelMeters forModel(String model, MeterRegistry registry) {
        SessionModelMeters meters = byModel.get(model);
        if (meters != null) {
            return meters;
        }
        synchronized (this) {
            if (removed) {
                return null;
            }
            return byModel.computeIfAbsent(model, m -> new SessionModelMeters(sessionId, m, registry));
        }
    }

    /** Removes every meter of this session from the registry; later lookups see it removed. */
    synchronized void remove(MeterRegistry registry) {
        removed = true;
        for (SessionModelMeters meters : byModel.values()) {
            for (Meter meter : meters.removeAll()) {
                registry.remove(meter);
            }
        }
        byModel.clear();
    }
}
