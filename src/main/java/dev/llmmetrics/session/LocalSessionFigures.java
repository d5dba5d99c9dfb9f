package dev.llmmetrics.session;

import dev.llmmetrics.event.LlmRequestCompleted;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * The per-session figures of one process whose sessions live in a store shared with other processes: what
 * this process recorded, per (session, model label) pair, so that Prometheus's sum over the replicas counts
 * each request once. Reading it never leaves the process, so the scrape does not wait on the shared store.
 *
 * <p>Bounded like a store: at most {@code maxSessions} sessions (past that the least recently active go), and
 * the owner drops the idle ones and those the shared store no longer holds with {@link #remove}. Each session
 * is guarded by its own monitor.
 */
public final class LocalSessionFigures implements SessionFigures {

    private final ConcurrentHashMap<String, Local> sessions = new ConcurrentHashMap<>();
    private final LongAdder modelOverflows = new LongAdder();
    private final AtomicBoolean evicting = new AtomicBoolean();
    private final int maxSessions;
    private final InstantSource clock;

    /** A table of at most {@code maxSessions} sessions, dating activity by {@code clock}. */
    public LocalSessionFigures(int maxSessions, InstantSource clock) {
        if (maxSessions < 1) {
            throw new IllegalArgumentException("maxSessions must be positive, was " + maxSessions);
        }
        this.maxSessions = maxSessions;
        this.clock = clock;
    }

    /**
     * Adds a finished request of {@code sessionId} to its pair {@code label}. The figures held of an earlier life
     * of the session (the shared store evicted or cleared it, then made it again) are dropped first; a request
     * of an earlier life than the one held, which a concurrent batch overtook, is not counted.
     *
     * @param life      the session's life in the shared store, which numbers them increasingly
     * @param completed the completed request, or {@code null} for a failure
     * @param cost      what it cost in picodollars, or -1 when its model has no price or it failed
     * @param folded    whether the shared store put it in the session's {@code _other} pair for want of room
     */
    public void add(String sessionId, long life, String label, @Nullable LlmRequestCompleted completed,
                    long cost, boolean folded) {
        long now = clock.millis();
        Local local = sessions.computeIfAbsent(sessionId, Local::new);
        synchronized (local) {
            if (life < local.life) {
                return;
            }
            if (life > local.life) {
                local.pairs.clear();
                local.life = life;
            }
            PairTotals pair = local.pair(label);
            if (completed != null) {
                pair.completed(completed, cost);
            } else {
                pair.failed();
            }
            local.lastActiveMs = now;
        }
        if (folded) {
            modelOverflows.increment();
        }
        if (sessions.size() > maxSessions) {
            enforceCapacity();
        }
    }

    /** Forgets one session's figures: the shared store cleared or evicted it. */
    public void remove(String sessionId) {
        sessions.remove(sessionId);
    }

    /** The sessions this process has figures of. */
    public List<String> sessionIds() {
        return new ArrayList<>(sessions.keySet());
    }

    /** Forgets the sessions this process last saw before {@code cutoffMs}; returns how many. */
    public int removeIdle(long cutoffMs) {
        int removed = 0;
        for (Local local : sessions.values()) {
            if (local.lastActiveMs < cutoffMs && sessions.remove(local.id, local)) {
                removed++;
            }
        }
        return removed;
    }

    @Override
    public List<PairFigures> mostRecentPairs(int maxSessions, int maxPairs) {
        if (maxSessions < 0 || maxPairs < 0) {
            throw new IllegalArgumentException("maxSessions and maxPairs must not be negative");
        }
        List<Local> recent = LeastRecentlyActive.pickMostRecent(sessions.values(), l -> l.lastActiveMs,
                Math.min(maxSessions, sessions.size()));
        List<PairFigures> figures = new ArrayList<>(Math.min(maxPairs, recent.size() + 8));
        for (Local local : recent) {
            synchronized (local) {
                if (local.pairs.size() > maxPairs - figures.size()) {
                    break; // the budget is spent: more recent sessions first, none cut in half
                }
                for (PairTotals pair : local.pairs) {
                    figures.add(pair.figures(local.id));
                }
            }
        }
        return figures;
    }

    @Override
    public long modelOverflows() {
        return modelOverflows.sum();
    }

    private void enforceCapacity() {
        while (sessions.size() > maxSessions && evicting.compareAndSet(false, true)) {
            try {
                int excess = sessions.size() - maxSessions;
                if (excess > 0) {
                    for (Local victim : LeastRecentlyActive.pick(sessions.values(), l -> l.lastActiveMs,
                            excess + Math.max(1, maxSessions / 100) - 1)) {
                        sessions.remove(victim.id, victim);
                    }
                }
            } finally {
                evicting.set(false);
            }
        }
    }

    /** One session's pairs, in order of first use. */
    private static final class Local {
        final String id;
        final List<PairTotals> pairs = new ArrayList<>(1);
        /** The session's life in the shared store that {@link #pairs} count. */
        long life = Long.MIN_VALUE;
        volatile long lastActiveMs;

        Local(String id) {
            this.id = id;
        }

        PairTotals pair(String label) {
            for (PairTotals pair : pairs) {
                if (pair.label().equals(label)) {
                    return pair;
                }
            }
            PairTotals made = new PairTotals(label);
            pairs.add(made);
            return made;
        }
    }
}
