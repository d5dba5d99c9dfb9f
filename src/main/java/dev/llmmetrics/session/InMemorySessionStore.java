package dev.llmmetrics.session;

import dev.llmmetrics.cost.ModelCatalog.Model;
import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.GenericEvent;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.event.RecordingFailedException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * The default {@link SessionStore}: bounded, in memory, lock-free across sessions. It is also this
 * process's {@link SessionFigures}: the per-session series read the same table the JSON is made from.
 *
 * <p>Bounds, all set by the {@link Builder}:
 * <ul>
 *   <li>at most {@code maxSessions} sessions; past that the least recently active are evicted, a
 *       hundredth of the bound at a time, so that the scan that finds them is paid once per batch;</li>
 *   <li>at most {@code maxRecordsPerSession} request records per session; the oldest record is dropped,
 *       while the session's aggregates stay exact over all its requests;</li>
 *   <li>at most {@code maxBytes} of retained data, each session counted by its real size (its records and
 *       their error texts included); past that the least recently active sessions are evicted, and a session
 *       larger than the bound by itself drops its oldest records with the scores of about as many of its oldest
 *       requests, keeping at least its newest record and score;</li>
 *   <li>at most {@code maxRecordsPerSession} scores of requests per session, shown with their records, and
 *       summaries of at most {@link SessionStore#MAX_SCORE_NAMES} score names (then {@code _other});</li>
 *   <li>at most {@code maxModelsPerSession} model labels with figures of their own per session, then
 *       {@code _other};</li>
 *   <li>sessions idle for longer than {@code idleTimeout} are evicted by {@link #evictIdle()}, which the
 *       owner calls periodically; a start counts in flight for at most {@code idleTimeout} however active its
 *       session stays ({@link InFlightRequests#expire}, at the session's starts and ends and at that sweep);</li>
 *   <li>event ids are remembered for the dedupe window, at most {@code maxIds} of them.</li>
 * </ul>
 *
 * <p>Each session is guarded by its own monitor; a session evicted while an update races with it is
 * re-created, so no update is ever lost.
 */
public final class InMemorySessionStore implements SessionStore, SessionFigures {

    /** How long an applied event id is remembered unless set: 10 minutes. */
    public static final Duration DEFAULT_DEDUPE_WINDOW = Duration.ofMinutes(10);
    /** How many applied event ids are remembered at most unless set. */
    public static final int DEFAULT_DEDUPE_MAX_IDS = 100_000;

    /**
     * Orders sessions active in the same millisecond by id ({@link SessionStore#compareIds}): the greater listed first
     * ({@link SessionStore#sessionIds}), the lesser evicted first.
     */
    private static final Comparator<SessionState> TIES = Comparator.comparing(state -> state.id, SessionStore::compareIds);

    /** What {@link #apply} did that may pass a bound: a session made, the retained bytes grown. */
    private static final int MADE = 1;
    private static final int GREW = 2;

    private final ConcurrentHashMap<String, SessionState> sessions = new ConcurrentHashMap<>();
    private final ModelCatalog catalog;
    private final RecentEventIds recentIds;
    private final AtomicBoolean evicting = new AtomicBoolean();
    /**
     * Numbers the session states this store creates, so that a session id's next life has new revisions; from a
     * random start, so that a server started again (its sessions gone) does not tag a session's new state as it
     * tagged an old one a client still holds: an {@code If-None-Match} would get 304 for other content.
     */
    private final AtomicLong incarnations = new AtomicLong(ThreadLocalRandom.current().nextLong(1L << 40));
    private final EvictionCounts evicted = new EvictionCounts();
    /** What the sessions held take on the heap, about; see {@link SessionState#bytes()}. */
    private final LongAdder retainedBytes = new LongAdder();
    private final LongAdder modelOverflows = new LongAdder();
    private final InFlightRequests inFlight;
    private final int maxSessions;
    private final int maxRecordsPerSession;
    private final int maxModelsPerSession;
    private final long maxBytes;
    private final int evictionBatch;
    private final long idleTimeoutMs;
    private final InstantSource clock;
    private volatile boolean closed;

    private InMemorySessionStore(Builder builder) {
        this.maxSessions = builder.maxSessions;
        this.maxRecordsPerSession = builder.maxRecordsPerSession;
        this.maxModelsPerSession = builder.maxModelsPerSession;
        this.maxBytes = builder.maxBytes;
        this.evictionBatch = Math.max(1, maxSessions / 100);
        this.idleTimeoutMs = Objects.requireNonNull(builder.idleTimeout).toMillis();
        this.clock = builder.clock;
        this.recentIds = new RecentEventIds(builder.dedupeWindow, builder.dedupeMaxIds, builder.clock);
        this.catalog = builder.catalog != null ? builder.catalog : new ModelCatalog(PriceTable.EMPTY, ModelCatalog.MAX_LABELS);
        this.inFlight = new InFlightRequests(catalog, builder.idleTimeout);
    }

    /** A builder; the three bounds must be set ({@code LlmMetrics} sets them from its configuration). */
    public static Builder builder() {
        return new Builder();
    }

    /** Makes in-memory stores: {@code LlmMetrics}' default. */
    public static SessionStoreFactory factory() {
        return p -> builder().maxSessions(p.maxSessions()).maxRecordsPerSession(p.maxRecordsPerSession())
                .maxModelsPerSession(p.maxModelsPerSession()).maxBytes(p.maxBytes()).idleTimeout(p.idleTimeout())
                .dedupe(p.dedupeWindow(), p.dedupeMaxIds()).clock(p.clock()).catalog(p.catalog()).build();
    }

    /**
     * Applies the new events of the batch, each session's under one hold of its lock, so that a concurrent
     * clear of a session takes all of the batch's events for it or none. Nothing can fail once the events
     * are validated, so the batch is all or nothing.
     */
    @Override
    public List<Event> record(List<? extends Event> events) {
        refuseOnceClosed();
        List<Event> applied = new ArrayList<>(events.size());
        Map<String, List<Event>> bySession = new LinkedHashMap<>();
        for (Event event : events) {
            if (claim(event)) {
                applied.add(event);
                if (!(event instanceof GenericEvent)) {
                    bySession.computeIfAbsent(event.sessionId(), id -> new ArrayList<>()).add(event);
                }
            }
        }
        int passed = 0;
        for (Map.Entry<String, List<Event>> e : bySession.entrySet()) {
            passed |= apply(e.getKey(), null, e.getValue());
        }
        holdBounds(passed); // after the whole batch, so that none of its sessions is evicted for another of it
        return applied;
    }

    @Override
    public boolean record(Event event) {
        refuseOnceClosed();
        if (!claim(event)) {
            return false;
        }
        if (!(event instanceof GenericEvent)) {
            holdBounds(apply(event.sessionId(), event, null));
        }
        return true;
    }

    /** Records nothing more; what the store holds stays readable. */
    @Override
    public void close() {
        closed = true;
    }

    /** That the store is closed, once it is: it records nothing more. */
    @Override
    public Optional<String> notReadyBecause() {
        return closed ? Optional.of("the session store is closed") : Optional.empty();
    }

    /** Once closed, before an event is claimed: its id stays free for a store that records it. */
    private void refuseOnceClosed() {
        if (closed) {
            throw new RecordingFailedException("the session store is closed", new IllegalStateException("closed"));
        }
    }

    /** Whether {@code event} is to be applied: it has no event id, or one not applied within the window. */
    private boolean claim(Event event) {
        String eventId = event.eventId();
        return eventId == null || recentIds.claim(eventId);
    }

    @Override
    public Optional<SessionMetrics> session(String sessionId) {
        SessionState state = sessions.get(sessionId);
        if (state == null) {
            return Optional.empty();
        }
        synchronized (state) {
            return state.removed() ? Optional.empty() : Optional.of(state.snapshot(catalog));
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
    public Optional<String> requestModel(String sessionId, String correlationId) {
        SessionState state = sessions.get(sessionId);
        if (state == null) {
            return Optional.empty();
        }
        synchronized (state) {
            return state.removed() ? Optional.empty() : Optional.ofNullable(state.modelOf(correlationId, catalog));
        }
    }

    @Override
    public List<SessionScores> scores(List<String> sessionIds) {
        List<SessionScores> all = new ArrayList<>();
        for (String id : sessionIds) {
            SessionState state = sessions.get(id);
            if (state != null) {
                synchronized (state) {
                    List<ScoreTotals> totals = state.removed() ? List.of() : state.scoreTotals();
                    if (!totals.isEmpty()) {
                        all.add(new SessionScores(id, ScoreTotals.summaries(totals)));
                    }
                }
            }
        }
        return all;
    }

    @Override
    public Optional<String> revision(String sessionId) {
        SessionState state = sessions.get(sessionId);
        if (state == null) {
            return Optional.empty();
        }
        synchronized (state) {
            return state.removed() ? Optional.empty() : Optional.of(state.revision());
        }
    }

    @Override
    public List<String> sessionIds(int offset, int limit) {
        if (offset < 0 || limit < 0) {
            throw new IllegalArgumentException("offset and limit must not be negative");
        }
        int wanted = (int) Math.min(sessions.size(), (long) offset + limit);
        List<SessionState> newest = LeastRecentlyActive.pickMostRecent(sessions.values(), SessionState::lastActiveMs,
                TIES, wanted);
        int from = Math.min(offset, newest.size());
        List<String> ids = new ArrayList<>(newest.size() - from);
        for (SessionState state : newest.subList(from, newest.size())) {
            ids.add(state.id);
        }
        return ids;
    }

    @Override
    public List<PairFigures> mostRecentPairs(int maxSessions, int maxPairs) {
        if (maxSessions < 0 || maxPairs < 0) {
            throw new IllegalArgumentException("maxSessions and maxPairs must not be negative");
        }
        // Sessions with a request in flight and none finished have no figures: they take no place.
        List<SessionState> states = LeastRecentlyActive.pickMostRecent(
                () -> sessions.values().stream().filter(SessionState::hasPairs).iterator(), SessionState::lastActiveMs,
                TIES, Math.min(maxSessions, sessions.size()));
        List<PairFigures> pairs = new ArrayList<>(Math.min(maxPairs, states.size() + 8));
        for (SessionState state : states) {
            synchronized (state) {
                if (!state.removed() && state.pairCount() <= maxPairs - pairs.size()) {
                    state.pairs(pairs);
                } else if (!state.removed()) {
                    break; // the budget is spent: more recent sessions first, none cut in half
                }
            }
        }
        return pairs;
    }

    @Override
    public long modelOverflows() {
        return modelOverflows.sum();
    }

    /** What the sessions held take on the heap, about, as the bound in bytes counts it. */
    public long retainedBytes() {
        return retainedBytes.sum();
    }

    @Override
    public int sessionCount() {
        return sessions.size();
    }

    @Override
    public long inFlight(String label) {
        return inFlight.count(label);
    }

    @Override
    public Map<String, Long> inFlightByLabel() {
        return inFlight.byLabel();
    }

    @Override
    public boolean clear(String sessionId) {
        SessionState state = sessions.get(sessionId);
        return state != null && remove(state);
    }

    @Override
    public boolean clear(String sessionId, Predicate<String> condition) {
        SessionState state = sessions.get(sessionId);
        if (state == null) {
            return false;
        }
        synchronized (state) {
            return !state.removed() && condition.test(state.revision()) && remove(state);
        }
    }

    @Override
    public int evictIdle() {
        long now = clock.millis();
        long cutoff = now - idleTimeoutMs;
        int idle = 0;
        for (SessionState state : sessions.values()) {
            if (state.lastActiveMs() < cutoff) {
                if (removeIf(state, cutoff)) {
                    idle++;
                }
            } else if (state.mayExpire(inFlight, now)) {
                expireInFlight(state, now);
            }
        }
        evicted.add(EvictionReason.IDLE, idle);
        return idle;
    }

    @Override
    public long evictions(EvictionReason reason) {
        return evicted.count(reason);
    }

    /**
     * Applies {@code one} event, or {@code many} of one session, to the session under its monitor, creating
     * the session if needed. A session removed between lookup and lock is looked up (re-created) again, so
     * no update is lost. Returns {@link #MADE} and {@link #GREW} as they happened: the caller holds the bounds
     * after the update ({@link #holdBounds}), so the session just updated is among the most recently active,
     * and should it still be evicted, its update was applied first.
     */
    private int apply(String sessionId, @Nullable Event one, @Nullable List<Event> many) {
        long now = clock.millis();
        SessionState fresh = null;
        while (true) {
            SessionState state = sessions.get(sessionId);
            if (state == null) {
                SessionState made = new SessionState(sessionId, maxRecordsPerSession, now,
                        incarnations.incrementAndGet());
                long empty = made.bytes(); // read before it is shared: later growth is counted by who makes it
                state = sessions.putIfAbsent(sessionId, made);
                if (state == null) {
                    state = fresh = made;
                    retainedBytes.add(empty);
                }
            }
            long grown = 0;
            synchronized (state) {
                if (state.removed()) {
                    continue;
                }
                long before = state.bytes();
                if (one != null) {
                    applyLocked(state, one, now);
                } else {
                    for (Event event : Objects.requireNonNull(many)) {
                        applyLocked(state, event, now);
                    }
                }
                long after = state.bytes();
                grown = (after > maxBytes ? state.trimTo(maxBytes) : after) - before;
                if (grown != 0) {
                    retainedBytes.add(grown);
                }
            }
            return (state == fresh ? MADE : 0) | (grown > 0 ? GREW : 0);
        }
    }

    /** Evicts past the bounds that what {@link #apply} did may have passed. */
    private void holdBounds(int done) {
        if ((done & MADE) != 0 && sessions.size() > maxSessions) {
            enforceCapacity();
        }
        if ((done & GREW) != 0 && retainedBytes.sum() > maxBytes) {
            enforceBytes();
        }
    }

    /** Applies one event to {@code state}, whose monitor the caller holds. */
    private void applyLocked(SessionState state, Event event, long now) {
        boolean folded = switch (event) {
            case LlmRequestCompleted completed -> {
                Model model = catalog.model(completed.model());
                inFlight.ended(state, model, now, completed.durationMs());
                yield state.add(completed, model, maxModelsPerSession, now);
            }
            case LlmRequestFailed failed -> {
                Model model = catalog.model(failed.model());
                inFlight.ended(state, model, now, failed.hasDuration() ? failed.durationMs() : -1);
                yield state.add(failed, model, maxModelsPerSession, now);
            }
            case LlmRequestStarted started -> {
                inFlight.started(state, catalog.model(started.model()), now);
                state.touch(now);
                yield false;
            }
            case LlmRequestScored scored -> {
                state.add(scored, now);
                yield false;
            }
            default -> {
                state.touch(now);
                yield false;
            }
        };
        if (folded) {
            modelOverflows.increment();
        }
        RequestLog.logged(event, state);
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
                            TIES, excess + evictionBatch - 1)) {
                        if (remove(victim)) {
                            evicted.add(EvictionReason.CAPACITY, 1);
                        }
                    }
                }
            } finally {
                evicting.set(false);
            }
        }
    }

    /**
     * Evicts the least recently active sessions, a batch at a time, until the retained data is within its
     * bound; one thread at a time, as {@link #enforceCapacity()}. The most recently active session stays.
     */
    private void enforceBytes() {
        while (retainedBytes.sum() > maxBytes && sessions.size() > 1 && evicting.compareAndSet(false, true)) {
            try {
                // As many of the oldest as the excess takes at the average session size, a batch at most.
                int others = sessions.size() - 1;
                if (others < 1) {
                    break;
                }
                long excess = retainedBytes.sum() - maxBytes;
                long average = Math.max(1, retainedBytes.sum() / (others + 1));
                int batch = Math.clamp(excess / average + 1, 1, Math.min(evictionBatch, others));
                for (SessionState victim : LeastRecentlyActive.pick(sessions.values(), SessionState::lastActiveMs, TIES,
                        batch)) {
                    if (remove(victim)) {
                        evicted.add(EvictionReason.MEMORY, 1);
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
            inFlight.left(state);
            retainedBytes.add(-state.bytes());
            return sessions.remove(state.id, state);
        }
    }

    /** Drops the starts of an active session that are the idle timeout old ({@link InFlightRequests#expire}). */
    private void expireInFlight(SessionState state, long now) {
        synchronized (state) {
            if (!state.removed()) {
                inFlight.expire(state, now);
            }
        }
    }

    private boolean removeIf(SessionState state, long idleCutoffMs) {
        synchronized (state) {
            return state.lastActiveMs() < idleCutoffMs && remove(state);
        }
    }

    /** Builds an {@link InMemorySessionStore}. */
    public static final class Builder {
        private int maxSessions;
        private int maxRecordsPerSession;
        private int maxModelsPerSession = Integer.MAX_VALUE;
        private long maxBytes = Long.MAX_VALUE;
        private @Nullable Duration idleTimeout;
        private Duration dedupeWindow = DEFAULT_DEDUPE_WINDOW;
        private int dedupeMaxIds = DEFAULT_DEDUPE_MAX_IDS;
        private InstantSource clock = InstantSource.system();
        private @Nullable ModelCatalog catalog;

        private Builder() {
        }

        /** Most sessions held; positive. */
        public Builder maxSessions(int maxSessions) {
            if (maxSessions < 1) {
                throw new IllegalArgumentException("maxSessions must be positive, was " + maxSessions);
            }
            this.maxSessions = maxSessions;
            return this;
        }

        /** Most request records kept per session; positive. */
        public Builder maxRecordsPerSession(int maxRecordsPerSession) {
            if (maxRecordsPerSession < 1) {
                throw new IllegalArgumentException("maxRecordsPerSession must be positive, was " + maxRecordsPerSession);
            }
            this.maxRecordsPerSession = maxRecordsPerSession;
            return this;
        }

        /** Most model labels with figures of their own per session, later ones sharing {@code _other}; unbounded unless set. */
        public Builder maxModelsPerSession(int maxModelsPerSession) {
            if (maxModelsPerSession < 1) {
                throw new IllegalArgumentException("maxModelsPerSession must be positive, was " + maxModelsPerSession);
            }
            this.maxModelsPerSession = maxModelsPerSession;
            return this;
        }

        /** Most bytes of retained data, each session counted by its real size; unbounded unless set. */
        public Builder maxBytes(long maxBytes) {
            if (maxBytes < 1) {
                throw new IllegalArgumentException("maxBytes must be positive, was " + maxBytes);
            }
            this.maxBytes = maxBytes;
            return this;
        }

        /** How long a session may stay idle before {@link #evictIdle()} drops it; from 1 ms to {@link Long#MAX_VALUE} ms. */
        public Builder idleTimeout(Duration idleTimeout) {
            if (idleTimeout == null || idleTimeout.compareTo(Duration.ofMillis(1)) < 0
                    || idleTimeout.compareTo(Duration.ofMillis(Long.MAX_VALUE)) > 0) {
                throw new IllegalArgumentException("idleTimeout must be from 1 ms to " + Long.MAX_VALUE + " ms, was "
                        + idleTimeout);
            }
            this.idleTimeout = idleTimeout;
            return this;
        }

        /**
         * How long an applied event id is remembered, so that a retry carrying it is not applied again, and
         * how many ids are remembered at most (past that the oldest are forgotten early): a window from 1 ms to
         * {@link Long#MAX_VALUE} ms, a positive count.
         */
        public Builder dedupe(Duration window, int maxIds) {
            if (window.compareTo(Duration.ofMillis(1)) < 0 || window.compareTo(Duration.ofMillis(Long.MAX_VALUE)) > 0
                    || maxIds < 1) {
                throw new IllegalArgumentException("the dedupe window must be from 1 ms to " + Long.MAX_VALUE
                        + " ms and the most ids positive, were " + window + " and " + maxIds);
            }
            this.dedupeWindow = window;
            this.dedupeMaxIds = maxIds;
            return this;
        }

        /** The clock that dates activity; the system clock unless set. */
        public Builder clock(InstantSource clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Numbers, labels and prices the models; one without prices unless set. */
        public Builder catalog(ModelCatalog catalog) {
            this.catalog = Objects.requireNonNull(catalog, "catalog");
            return this;
        }

        /**
         * The store.
         *
         * @throws IllegalStateException if a bound was not set
         */
        public InMemorySessionStore build() {
            if (maxSessions == 0 || maxRecordsPerSession == 0 || idleTimeout == null) {
                throw new IllegalStateException("maxSessions, maxRecordsPerSession and idleTimeout must be set");
            }
            return new InMemorySessionStore(this);
        }
    }
}
