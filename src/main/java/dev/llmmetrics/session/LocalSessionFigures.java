package dev.llmmetrics.session;

import dev.llmmetrics.event.LlmRequestCompleted;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * The per-session figures of one process whose sessions live in a store shared with other processes: what
 * this process recorded, per (session, model label) pair and per (session, score name), so that Prometheus's sum
 * over the replicas counts each request and each score once. Reading it never leaves the process, so the scrape
 * does not wait on the shared store.
 *
 * <p>Bounded like a store: at most {@code maxSessions} sessions (past that the least recently active go), and
 * the owner drops the lives the shared store no longer holds with {@link #forget} (and, while it cannot ask the
 * store, the sessions it has not seen for long with {@link #removeIdle}). Each session is guarded by its own
 * monitor.
 */
public final class LocalSessionFigures implements SessionFigures {

    /**
     * Orders sessions active in the same millisecond by id ({@link SessionStore#compareIds}): the greater first, as
     * the store lists them; the lesser evicted first.
     */
    private static final Comparator<Local> TIES = Comparator.comparing(local -> local.id, SessionStore::compareIds);

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
     * A finished request or a score, as one batch of the shared store applied it to a session.
     *
     * @param label     the request's pair, or the name the score was summed under
     * @param completed the completed request, or {@code null} for a failure or a score
     * @param cost      what the request cost in picodollars, or -1 when its model has no price, it failed, or it is
     *                  a score
     * @param folded    whether the request went to the session's {@code _other} pair for want of room
     * @param score     the score's value, or NaN for a request
     */
    public record Figure(String label, @Nullable LlmRequestCompleted completed, long cost, boolean folded,
                         double score) {

        /** Checks the label is given. */
        public Figure {
            Objects.requireNonNull(label, "label");
        }

        /**
         * A finished request.
         *
         * @param completed the completed request, or {@code null} for a failure
         * @param cost      what it cost in picodollars, or -1 when its model has no price or it failed
         * @param folded    whether it went to the session's {@code _other} pair for want of room: the shared store
         *                  put it there past the session's labels, or its model is past the catalog's
         */
        public static Figure request(String label, @Nullable LlmRequestCompleted completed, long cost,
                                     boolean folded) {
            return new Figure(label, completed, cost, folded, Double.NaN);
        }

        /**
         * A score, summed under {@code name}: its own, or {@link SessionStore#OTHER_SCORE_NAME} past the session's
         * score names in the shared store, so that the names agree across processes.
         */
        public static Figure score(String name, double value) {
            return new Figure(name, null, -1, false, value);
        }
    }

    /**
     * Adds a finished request of {@code sessionId} to its pair {@code label}, as {@link #addAll} adds one.
     *
     * @param life      the session's life in the shared store, which numbers them increasingly
     * @param completed the completed request, or {@code null} for a failure
     * @param cost      what it cost in picodollars, or -1 when its model has no price or it failed
     * @param folded    whether it went to the session's {@code _other} pair for want of room
     */
    public void add(String sessionId, long life, String label, @Nullable LlmRequestCompleted completed,
                    long cost, boolean folded) {
        addAll(sessionId, life, List.of(Figure.request(label, completed, cost, folded)));
    }

    /** Adds a score of {@code sessionId} to the totals of {@code name}, as {@link #addAll} adds one. */
    public void score(String sessionId, long life, String name, double value) {
        addAll(sessionId, life, List.of(Figure.score(name, value)));
    }

    /**
     * Adds what one batch of the shared store applied to {@code sessionId}, all under one hold of the session's
     * monitor, so that a scrape shows all of the batch's figures of the session or none. The figures held of an
     * earlier life of the session (the shared store evicted or cleared it, then made it again) are dropped first;
     * figures of an earlier life than the one held, which a concurrent batch overtook, or of a life known gone
     * ({@link #forgetGone}), are not counted.
     *
     * @param life the session's life in the shared store, which numbers them increasingly
     */
    public void addAll(String sessionId, long life, List<Figure> figures) {
        if (figures.isEmpty()) {
            return;
        }
        long now = clock.millis();
        while (true) {
            Local local = sessions.computeIfAbsent(sessionId, id -> new Local(id, now));
            synchronized (local) {
                if (local.removed) {
                    continue; // forgotten since it was looked up: the next lookup makes a new one
                }
                if (life < local.life || life <= local.gone) {
                    return;
                }
                if (life > local.life) {
                    local.pairs.clear();
                    local.scores = null;
                    local.life = life;
                }
                for (Figure figure : figures) {
                    if (!Double.isNaN(figure.score())) {
                        if (local.scores == null) {
                            local.scores = new ArrayList<>(2);
                        }
                        // The shared store chose the name (kept, or _other past the session's names over all
                        // processes), so this process's fewer names must not fold it again; the names stay within
                        // its bound.
                        ScoreTotals.exactly(local.scores, figure.label()).add(figure.score());
                        continue;
                    }
                    if (figure.completed() != null) {
                        local.pair(figure.label()).completed(figure.completed(), figure.cost());
                    } else {
                        local.pair(figure.label()).failed();
                    }
                    if (figure.folded()) {
                        modelOverflows.increment();
                    }
                }
                local.lastActiveMs = now;
            }
            break;
        }
        if (sessions.size() > maxSessions) {
            enforceCapacity();
        }
    }

    /** Forgets one session's figures: the shared store cleared or evicted it. */
    public void remove(String sessionId) {
        forget(sessionId, Long.MAX_VALUE);
    }

    /**
     * Forgets one session's figures when they count a life up to {@code life}: the shared store no longer holds
     * those lives. Figures of a later life, which a concurrent batch began, stay.
     */
    public void forget(String sessionId, long life) {
        Local local = sessions.get(sessionId);
        if (local != null) {
            synchronized (local) {
                if (local.life <= life) {
                    drop(local);
                }
            }
        }
    }

    /**
     * Forgets one session's figures of the lives up to {@code life}, as {@link #forget} does, and keeps, until the
     * owner {@linkplain #forget forgets} the session again or the table's bound drops it, that those lives are gone:
     * so that a request of such a life added after this (a batch the shared store applied before it cleared or
     * evicted the session, whose caller has not added its figures yet) is not counted, where it would stay on the
     * scrape until the owner next asks the shared store what it holds.
     */
    public void forgetGone(String sessionId, long life) {
        while (true) {
            Local local = sessions.computeIfAbsent(sessionId, id -> new Local(id, Long.MIN_VALUE));
            synchronized (local) {
                if (local.removed) {
                    continue; // forgotten since it was looked up: the next lookup makes a new one
                }
                if (local.life <= life) {
                    local.pairs.clear();
                    local.scores = null;
                    local.gone = Math.max(local.gone, life);
                    local.lastActiveMs = Long.MIN_VALUE; // nothing to show: the first to go past the bound
                }
            }
            break;
        }
        if (sessions.size() > maxSessions) {
            enforceCapacity();
        }
    }

    /** How many sessions this process has figures of. */
    public int size() {
        return sessions.size();
    }

    /** The sessions this process has figures of. */
    public List<String> sessionIds() {
        return new ArrayList<>(sessions.keySet());
    }

    /** Forgets the sessions this process last saw before {@code cutoffMs}; returns how many. */
    public int removeIdle(long cutoffMs) {
        int removed = 0;
        for (Local local : sessions.values()) {
            if (local.lastActiveMs < cutoffMs) {
                synchronized (local) {
                    if (local.lastActiveMs < cutoffMs && drop(local)) {
                        removed++;
                    }
                }
            }
        }
        return removed;
    }

    /** Takes {@code local} out of the table, under its monitor, so that no add counts into it afterwards. */
    private boolean drop(Local local) {
        if (local.removed) {
            return false;
        }
        local.removed = true;
        sessions.remove(local.id, local);
        return true;
    }

    @Override
    public List<PairFigures> mostRecentPairs(int maxSessions, int maxPairs) {
        if (maxSessions < 0 || maxPairs < 0) {
            throw new IllegalArgumentException("maxSessions and maxPairs must not be negative");
        }
        // Sessions with scores alone have no pairs: they take no place.
        List<Local> recent = LeastRecentlyActive.pickMostRecent(
                () -> sessions.values().stream().filter(l -> !l.pairs.isEmpty()).iterator(), l -> l.lastActiveMs,
                TIES, Math.min(maxSessions, sessions.size()));
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

    /**
     * The sessions this process recorded a finished request or a score of, most recently active first, as many
     * as fit: a session whose requests another process recorded shows the scores this one did, so that the sum
     * over the processes counts each score once.
     */
    @Override
    public SessionsOnScrape mostRecent(int maxSessions, int maxPairs) {
        if (maxSessions < 0 || maxPairs < 0) {
            throw new IllegalArgumentException("maxSessions and maxPairs must not be negative");
        }
        List<Local> recent = LeastRecentlyActive.pickMostRecent(sessions.values(), l -> l.lastActiveMs,
                TIES, Math.min(maxSessions, sessions.size()));
        List<PairFigures> pairs = new ArrayList<>(Math.min(maxPairs, recent.size() + 8));
        List<SessionScores> scores = new ArrayList<>();
        int room = maxPairs;
        int shown = 0;
        for (Local local : recent) {
            synchronized (local) {
                int names = local.scores == null ? 0 : local.scores.size();
                if (local.removed || local.pairs.size() + names == 0) {
                    continue; // forgotten, or emptied by a new life, since it was picked
                }
                if (local.pairs.size() + names > room) {
                    break; // the budget is spent: more recent sessions first, none cut in half
                }
                room -= local.pairs.size() + names;
                for (PairTotals pair : local.pairs) {
                    pairs.add(pair.figures(local.id));
                }
                if (names > 0) {
                    scores.add(new SessionScores(local.id, ScoreTotals.summaries(local.scores)));
                }
                shown++;
            }
        }
        return new SessionsOnScrape(pairs, scores, shown);
    }

    @Override
    public List<SessionScores> scores(List<String> sessionIds) {
        List<SessionScores> all = new ArrayList<>();
        for (String id : sessionIds) {
            Local local = sessions.get(id);
            if (local != null) {
                synchronized (local) {
                    if (!local.removed && local.scores != null) {
                        all.add(new SessionScores(id, ScoreTotals.summaries(local.scores)));
                    }
                }
            }
        }
        return all;
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
                    for (Local victim : LeastRecentlyActive.pick(sessions.values(), l -> l.lastActiveMs, TIES,
                            excess + Math.max(1, maxSessions / 100) - 1)) {
                        synchronized (victim) {
                            drop(victim);
                        }
                    }
                }
            } finally {
                evicting.set(false);
            }
        }
    }

    /** One session's pairs and score totals, each in order of first use. */
    private static final class Local {
        final String id;
        final List<PairTotals> pairs = new ArrayList<>(1);
        /** The totals per score name; {@code null} until this process counts a score of the session's life. */
        @Nullable List<ScoreTotals> scores;
        /** The session's life in the shared store that {@link #pairs} count. */
        long life = Long.MIN_VALUE;
        /**
         * The latest life the shared store is known to no longer hold ({@link #forgetGone}): a request of it or of
         * an earlier life is not counted.
         */
        long gone = Long.MIN_VALUE;
        /** Whether it left the table: an add that still holds it looks the session up again. */
        boolean removed;
        /** When this process last counted into it; from its making, so that a new one is not the first to go. */
        volatile long lastActiveMs;

        Local(String id, long nowMs) {
            this.id = id;
            this.lastActiveMs = nowMs;
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
