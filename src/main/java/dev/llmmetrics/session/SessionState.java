package dev.llmmetrics.session;

import dev.llmmetrics.cost.ModelCatalog.Model;
import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestScored;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One session's mutable state in the {@link InMemorySessionStore}: a {@link PairTotals} of figures per model label,
 * the most recent request records, and its requests in flight (kept in this object, as the class it extends
 * allows). The session's aggregates are the sums of its pairs, never kept twice.
 * Every method but {@link #lastActiveMs()} must be called while holding the instance's monitor: the lock is
 * per session, never global.
 */
final class SessionState extends InFlightRequests.Session {

    /**
     * The state object (its first label's requests in flight included, a count per bucket of start times), its map
     * entry, its ring object and the pairs array, about.
     */
    private static final long OVERHEAD = 224;
    /** One {@link PairTotals}: header, label reference and fifteen {@code long}s. */
    private static final long PAIR_BYTES = 136;
    /** One {@link ScoreTotals} and its list slot: header, name reference, four numbers (names are short). */
    private static final long SCORE_TOTALS_BYTES = 56 + RecordRing.STRING_HEADER + LlmRequestScored.MAX_NAME_LENGTH;

    final String id;
    /** Which life of this session id this is: the store numbers each state it creates. */
    private final long incarnation;
    private volatile long lastActiveMs;
    private boolean removed;
    /** The pair of the first model label; most sessions use one model, and a field spares them a search. */
    private @Nullable PairTotals first;
    /** The pairs of further labels, in order of first use; {@code null} until a session uses a second. */
    private PairTotals @Nullable [] others;
    private final RecordRing records;
    /** The scores of requests, shown with their records; {@code null} until the session has one. */
    private @Nullable ScoreRing scores;
    /** The totals per score name, in order of first use; {@code null} until the session has a score. */
    private @Nullable List<ScoreTotals> scoreTotals;
    /** What the id takes on the heap (an id is short: an {@code int}): read once, it is on every {@link #bytes()}. */
    private final int idBytes;
    /** Whether the session has finished a request, so has (session, model) figures; read without the lock. */
    private volatile boolean hasPairs;

    SessionState(String id, int maxRecords, long nowMs, long incarnation) {
        this.id = id;
        this.incarnation = incarnation;
        this.records = new RecordRing(maxRecords);
        this.idBytes = Math.toIntExact(RecordRing.textBytes(id));
        this.lastActiveMs = nowMs;
    }

    long lastActiveMs() {
        return lastActiveMs;
    }

    boolean removed() {
        return removed;
    }

    void markRemoved() {
        removed = true;
    }

    void touch(long nowMs) {
        lastActiveMs = nowMs;
    }

    /**
     * Adds a completed request of {@code model}, costed here ({@link Model#costPicoUsd}: the reported cost,
     * else the model's price) for the session's figures and records; the per-model meters cost it by the same
     * catalog entry for their counter.
     *
     * @param maxModels the most model labels with figures of their own in a session (the store's bound); later
     *                  models share one more, {@link ModelCatalog#OTHER_LABEL}
     * @return whether its figures went to the session's {@code _other} pair for want of room (the session's
     *         labels or the catalog's, {@link Model#overflowed})
     */
    boolean add(LlmRequestCompleted e, Model model, int maxModels, long nowMs) {
        long cost = model.costPicoUsd(e);
        PairTotals pair = pair(model.label(), maxModels);
        pair.completed(e, cost);
        records.completed(e, model, cost);
        lastActiveMs = nowMs;
        return folded(pair, model);
    }

    /**
     * Adds a failed request of {@code model}, as {@link #add(LlmRequestCompleted, Model, int, long)} adds a completed
     * one; returns whether it went to the {@code _other} pair for want of room.
     */
    boolean add(LlmRequestFailed e, Model model, int maxModels, long nowMs) {
        PairTotals pair = pair(model.label(), maxModels);
        pair.failed();
        records.failed(e, model, SessionStore.keptError(e.error()));
        lastActiveMs = nowMs;
        return folded(pair, model);
    }

    /**
     * Adds a score: to its name's totals, past the session's score names to {@link SessionStore#OTHER_SCORE_NAME}'s,
     * and, when it grades a request, to the scores shown with that request's records.
     */
    void add(LlmRequestScored e, long nowMs) {
        if (scoreTotals == null) {
            scoreTotals = new ArrayList<>(2);
        }
        ScoreTotals totals = ScoreTotals.named(scoreTotals, e.name());
        totals.add(e.value());
        if (e.correlationId() != null) {
            if (scores == null) {
                scores = new ScoreRing(records.bound());
            }
            // The session's string for the name, not the event's, unless the name was folded past the bound.
            String name = totals.name().equals(e.name()) ? totals.name() : e.name();
            scores.add(e.correlationId(), name, e.value(), e.comment(), e.timestamp().toEpochMilli());
        }
        lastActiveMs = nowMs;
    }

    /** The model of the most recent record with {@code correlationId}, or {@code null} when none is held. */
    @Nullable String modelOf(String correlationId, ModelCatalog catalog) {
        return records.modelOf(correlationId, catalog);
    }

    /** The session's score totals, copied, in order of first use. */
    List<ScoreTotals> scoreTotals() {
        if (scoreTotals == null) {
            return List.of();
        }
        List<ScoreTotals> copies = new ArrayList<>(scoreTotals.size());
        for (ScoreTotals t : scoreTotals) {
            copies.add(t.copy());
        }
        return copies;
    }

    private static boolean folded(PairTotals pair, Model model) {
        return model.overflowed(pair.label());
    }

    /**
     * What this session takes on the heap, about: its state, id, map entry, pairs, records, scores and requests in
     * flight.
     */
    long bytes() {
        return OVERHEAD + idBytes + PAIR_BYTES * pairCount() + records.bytes() + inFlightBytes()
                + (scores == null ? 0 : scores.bytes())
                + (scoreTotals == null ? 0 : SCORE_TOTALS_BYTES * scoreTotals.size());
    }

    /**
     * Drops the oldest records while the session takes more than {@code maxBytes}, and with them the oldest scores
     * of requests in the share they had of the records, so that the records kept keep their scores (a score is
     * shown only with its request's records); then, with one record left, the oldest scores. Keeps at least the
     * newest record and the newest score: a session larger than the store's byte bound by itself gives room back
     * as the record bound does, its totals untouched.
     *
     * @return what the session takes afterwards, as {@link #bytes()}
     */
    long trimTo(long maxBytes) {
        long bytes = bytes();
        long records = this.records.size();
        long scoresHeld = scores == null ? 0 : scores.size();
        long dropped = 0;
        while (bytes > maxBytes && this.records.size() > 1 && this.records.dropOldest()) {
            dropped++;
            long share = Math.max(1, Math.ceilDiv(scoresHeld * (records - dropped), records));
            while (scores != null && scores.size() > share && scores.dropOldest()) {
                // the scores of about as many of the oldest requests
            }
            bytes = bytes();
        }
        while (bytes > maxBytes && scores != null && scores.size() > 1 && scores.dropOldest()) {
            bytes = bytes();
        }
        return bytes;
    }

    /** Whether the session has (session, model) figures; a hint read without the lock. */
    boolean hasPairs() {
        return hasPairs;
    }

    /** Changes whenever {@link #snapshot} would give something else; see {@link SessionStore#revision}. */
    String revision() {
        // Every request the snapshot shows is one more success or failure, every score one more score; the records
        // and scores of requests held change without either when the bound in bytes takes some back on a start.
        long requests = 0;
        for (PairTotals pair : pairList()) {
            requests += pair.requests();
        }
        return incarnation + "-" + requests + (scoreTotals == null ? "" : "-" + ScoreTotals.count(scoreTotals))
                + "-" + records.size() + (scores == null ? "" : "-" + scores.size());
    }

    /** The aggregates, without the records. */
    SessionMetrics summary() {
        return snapshot(List.of());
    }

    /** The aggregates and the records, oldest first, their model names read in {@code catalog}. */
    SessionMetrics snapshot(ModelCatalog catalog) {
        return snapshot(records.toList(catalog, scores == null ? java.util.Map.of() : scores.byCorrelationId()));
    }

    /** How many (session, model) pairs this session has. */
    int pairCount() {
        return (first == null ? 0 : 1) + (others == null ? 0 : others.length);
    }

    /** Adds this session's pairs to {@code to}. */
    void pairs(List<PairFigures> to) {
        if (first != null) {
            to.add(first.figures(id));
        }
        if (others != null) {
            for (PairTotals pair : others) {
                to.add(pair.figures(id));
            }
        }
    }

    private SessionMetrics snapshot(List<RequestRecord> requests) {
        return PairTotals.metrics(id, Instant.ofEpochMilli(lastActiveMs), pairList(), requests,
                scoreTotals == null ? List.of() : scoreTotals);
    }

    private List<PairTotals> pairList() {
        if (first == null) {
            return List.of();
        }
        if (others == null) {
            return List.of(first);
        }
        List<PairTotals> all = new ArrayList<>(1 + others.length);
        all.add(first);
        all.addAll(Arrays.asList(others));
        return all;
    }

    private PairTotals pair(String label, int maxModels) {
        PairTotals pair = first;
        if (pair == null) {
            hasPairs = true;
            return first = new PairTotals(label);
        }
        if (pair.label().equals(label)) {
            return pair;
        }
        if (others != null) {
            for (PairTotals other : others) {
                if (other.label().equals(label)) {
                    return other;
                }
            }
        }
        int pairs = 1 + (others == null ? 0 : others.length);
        if (pairs >= maxModels && !label.equals(ModelCatalog.OTHER_LABEL)) {
            return pair(ModelCatalog.OTHER_LABEL, maxModels); // past its own labels a session shares _other
        }
        PairTotals created = new PairTotals(label);
        others = others == null ? new PairTotals[] {created} : append(others, created);
        return created;
    }

    private static PairTotals[] append(PairTotals[] pairs, PairTotals pair) {
        PairTotals[] grown = Arrays.copyOf(pairs, pairs.length + 1);
        grown[pairs.length] = pair;
        return grown;
    }
}
