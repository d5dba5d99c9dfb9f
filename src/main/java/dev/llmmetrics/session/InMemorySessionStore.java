package dev.llmmetrics.session;

import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The default {@link SessionStore}: bounded, in memory, lock-free across sessions.
 *
 * <p>Bounds, all set at construction:
 * <ul>
 *   <li>at most {@code maxSessions} sessions; past that the least recently active are evicted, in a
 *       batch of about 1 % so that the scan that finds them is paid once per hundred new sessions;</li>
 *   <li>at most {@code maxRecordsPerSession} request records per session; the oldest record is dropped,
 *       while the session's aggregates stay exact over all its requests;</li>
 *   <li>sessions idle for longer than {@code idleTimeout} are evicted by {@link #evictIdle()}, which the
 *       owner calls periodically.</li>
 * </ul>
 *
 * <p>Each session is guarded by its own monitor; a session evicted while an update races with it is
 * re-created, so no update is ever lost.
 */
public final class InMemorySessionStore implements SessionStore {

    private static final Logger LOG = System.getLogger(InMemorySessionStore.class.getName());
    /** Orders the session list; sorting live states would see their times change mid-sort. */
    private static final Comparator<Activity> MOST_RECENT_FIRST =
            Comparator.comparingLong(Activity::lastActiveMs).reversed();


    private final ConcurrentHashMap<String, SessionState> sessions = new ConcurrentHashMap<>();
    private final ModelNames modelNames;
    private final List<EvictionListener> evictionListeners = new CopyOnWriteArrayList<>();
    private final AtomicBoolean evicting = new AtomicBoolean();
    /** Numbers the session states this store creates, so that a session id's next life has new revisions. */
    private final AtomicLong incarnations = new AtomicLong();
    private final int maxSessions;
    private final int maxRecordsPerSession;
    private final int evictionBatch;
    private final long idleTimeoutMs;
    private final InstantSource clock;

    /**
     * A store with the given bounds, without prices: every request is unpriced.
     *
     * @param maxSessions          most sessions held; positive
     * @param maxRecordsPerSession most request records kept per session; positive
     * @param idleTimeout          how long a session may stay idle before {@link #evictIdle()} drops it; positive
     * @param clock                the clock that dates activity
     */
    public InMemorySessionStore(int maxSessions, int maxRecordsPerSession, Duration idleTimeout, InstantSource clock) {
        this(maxSessions, maxRecordsPerSession, idleTimeout, clock, PriceTable.EMPTY);
    }

    /**
     * A store with the given bounds, costing requests with {@code prices}.
     *
     * @param maxSessions          most sessions held; positive
     * @param maxRecordsPerSession most request records kept per session; positive
     * @param idleTimeout          how long a session may stay idle before {@link #evictIdle()} drops it; positive
     * @param clock                the clock that dates activity
     * @param prices               what each model's tokens cost
     */
    public InMemorySessionStore(int maxSessions, int maxRecordsPerSession, Duration idleTimeout, InstantSource clock,
                                PriceTable prices) {
        if (maxSessions < 1) {
            throw new IllegalArgumentException("maxSessions must be positive, was " + maxSessions);
        }
        if (maxRecordsPerSession < 1) {
            throw new IllegalArgumentException("maxRecordsPerSession must be positive, was " + maxRecordsPerSession);
        }
        if (idleTimeout == null || idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("idleTimeout must be positive, was " + idleTimeout);
        }
        this.maxSessions = maxSessions;
        this.maxRecordsPerSession = maxRecordsPerSession;
        this.evictionBatch = Math.max(1, maxSessions / 100);
        this.idleTimeoutMs = idleTimeout.toMillis();
        this.clock = Objects.requireNonNull(clock, "clock");
        this.modelNames = new ModelNames(Objects.requireNonNull(prices, "prices"));
    }

    @Override
    public void recordStarted(LlmRequestStarted event) {
        apply(event.sessionId(), event);
    }

    @Override
    public void recordCompleted(LlmRequestCompleted event) {
        apply(event.sessionId(), event);
    }

    @Override
    public void recordFailed(LlmRequestFailed event) {
        apply(event.sessionId(), event);
    }

    @Override
    public Optional<SessionMetrics> session(String sessionId) {
        SessionState state = sessions.get(sessionId);
        if (state == null) {
            return Optional.empty();
        }
        synchronized (state) {
            return state.removed() ? Optional.empty() : Optional.of(state.snapshot(modelNames));
        }
    }

    @Override
    public Optional<SessionMetrics> summary(String sessionId) {
        SessionState state = sessions.get(sessionId);
        if (state == null) {
            return Optional.empty();
        }
        synchronized (state) {
            return state.removed() ? Optional.empty() : Optional.of(state.summary());
        }
    }

    @Override
    public String revision(String sessionId) {
        SessionState state = sessions.get(sessionId);
        if (state == null) {
            return null;
        }
        synchronized (state) {
            return state.removed() ? null : state.revision();
        }
    }

    @Override
    public List<String> sessionIds(int offset, int limit) {
        if (offset < 0 || limit < 0) {
            throw new IllegalArgumentException("offset and limit must not be negative");
        }
        List<Activity> all = new ArrayList<>(sessions.size());
        for (SessionState state : sessions.values()) {
            all.add(new Activity(state, state.lastActiveMs()));
        }
        all.sort(MOST_RECENT_FIRST);
        int from = Math.min(offset, all.size());
        int to = (int) Math.min(all.size(), (long) from + limit);
        List<String> ids = new ArrayList<>(to - from);
        for (Activity activity : all.subList(from, to)) {
            ids.add(activity.state().id);
        }
        return ids;
    }

    @Override
    public int sessionCount() {
        return sessions.size();
    }

    @Override
    public boolean clear(String sessionId) {
        SessionState state = sessions.get(sessionId);
        return state != null && remove(state);
    }

    @Override
    public int evictIdle() {
        long cutoff = clock.millis() - idleTimeoutMs;
        int evicted = 0;
        for (SessionState state : sessions.values()) {
            if (state.lastActiveMs() < cutoff && removeIf(state, cutoff)) {
                evicted++;
                notifyEvicted(state.id, EvictionReason.IDLE);
            }
        }
        return evicted;
    }

    @Override
    public void addEvictionListener(EvictionListener listener) {
        evictionListeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /**
     * Applies one event to its session under the session's monitor, creating the session if needed. A
     * session removed between lookup and lock is looked up (re-created) again, so no update is lost.
     * The bound is enforced after the update: the session just updated is the most recently active, and
     * should it still be evicted, its update was applied first.
     */
    private void apply(String sessionId, Event event) {
        long now = clock.millis();
        int modelId = switch (event) {
            case LlmRequestCompleted completed -> modelNames.id(completed.model());
            case LlmRequestFailed failed -> modelNames.id(failed.model());
            default -> -1;
        };
        ModelPrice price = event instanceof LlmRequestCompleted completed ? modelNames.price(modelId, completed.model()) : null;
        boolean created = false;
        while (true) {
            SessionState state = sessions.get(sessionId);
            if (state == null) {
                SessionState fresh = new SessionState(sessionId, maxRecordsPerSession, now, incarnations.incrementAndGet());
                state = sessions.putIfAbsent(sessionId, fresh);
                if (state == null) {
                    state = fresh;
                    created = true;
                }
            }
            synchronized (state) {
                if (!state.removed()) {
                    switch (event) {
                        case LlmRequestCompleted completed -> state.add(completed, modelId, price, now);
                        case LlmRequestFailed failed -> state.add(failed, modelId, now);
                        default -> state.touch(now);
                    }
                    break;
                }
            }
        }
        if (created && sessions.size() > maxSessions) {
            enforceCapacity();
        }
    }

    /**
     * Evicts the least recently active sessions until the store is within its bound. One thread evicts
     * at a time; a thread that finds another evicting leaves it the work, and the evicting thread checks
     * the size again after it lets go, so an insert made meanwhile is not missed.
     */
    private void enforceCapacity() {
        while (sessions.size() > maxSessions && evicting.compareAndSet(false, true)) {
            try {
                int excess = sessions.size() - maxSessions;
                if (excess > 0) {
                    for (SessionState victim : LeastRecentlyActive.pick(sessions.values(), SessionState::lastActiveMs,
                            excess + evictionBatch - 1)) {
                        if (remove(victim)) {
                            notifyEvicted(victim.id, EvictionReason.CAPACITY);
                        }
                    }
                }
            } finally {
                evicting.set(false);
            }
        }
    }

    private boolean remove(SessionState state) {
        synchronized (state) {
            if (state.removed()) {
                return false;
            }
            state.markRemoved();
            return sessions.remove(state.id, state);
        }
    }

    private boolean removeIf(SessionState state, long idleCutoffMs) {
        synchronized (state) {
            return state.lastActiveMs() < idleCutoffMs && remove(state);
        }
    }

    private void notifyEvicted(String sessionId, EvictionReason reason) {
        for (EvictionListener listener : evictionListeners) {
            try {
                listener.evicted(sessionId, reason);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "Eviction listener " + listener + " failed for session " + sessionId, e);
            }
        }
    }

    /** A session with its last activity time read once. */
    private record Activity(SessionState state, long lastActiveMs) {
    }
}
