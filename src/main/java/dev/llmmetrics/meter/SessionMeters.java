package dev.llmmetrics.meter;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The per-session meters of one session, one {@link SessionModelMeters} per model it used. Looking up
 * existing meters takes no lock; creating and removing them hold this session's monitor, so that meters
 * are never created, or function meters registered, for a session already removed.
 */
final class SessionMeters {

    final String sessionId;
    private final ConcurrentHashMap<String, SessionModelMeters> byModel = new ConcurrentHashMap<>(2);
    /**
     * The pair of the first model this session used: most sessions use one model, and a field compared by
     * reference (model labels are the collector's own instances) spares them the map lookup, and its cache
     * misses, on every event.
     */
    private volatile SessionModelMeters first;
    private volatile long lastActiveMs;
    private boolean removed;
    /** Function meters registered on a registry other than Prometheus; guarded by this instance's monitor. */
    private List<Meter> functionMeters;

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

    /** The pairs of this session, for the scrape. */
    Collection<SessionModelMeters> models() {
        return byModel.values();
    }

    /**
     * The meters for {@code model}, or {@code null} if this session was removed meanwhile.
     *
     * @param functionRegistry where to register function meters for a new pair, or {@code null} when the
     *                         scrape writes the pairs itself ({@link SessionSeries})
     */
    SessionModelMeters forModel(String model, MeterRegistry functionRegistry) {
        SessionModelMeters meters = first;
        if (meters != null && meters.model == model) {
            return meters;
        }
        meters = byModel.get(model);
        if (meters != null) {
            return meters;
        }
        synchronized (this) {
            if (removed) {
                return null;
            }
            meters = byModel.get(model);
            if (meters == null) {
                meters = new SessionModelMeters(sessionId, model);
                if (functionRegistry != null) {
                    if (functionMeters == null) {
                        functionMeters = new ArrayList<>();
                    }
                    functionMeters.addAll(meters.bindFunctionMeters(functionRegistry));
                }
                byModel.put(model, meters);
                if (first == null) {
                    first = meters;
                }
            }
            return meters;
        }
    }

    /** Removes this session's meters (from {@code registry}, the function meters); later lookups see it removed. */
    synchronized void remove(MeterRegistry registry) {
        removed = true;
        if (functionMeters != null) {
            functionMeters.forEach(registry::remove);
            functionMeters = null;
        }
        byModel.clear();
        first = null;
    }
}
