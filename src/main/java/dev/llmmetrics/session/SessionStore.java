package dev.llmmetrics.session;

import dev.llmmetrics.event.Recorder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Where per-session detail lives: the one owner of a session's aggregates and recent request records.
 *
 * <p>A store is the {@link Recorder} of an {@link dev.llmmetrics.event.EventBus}: an event reaches the bus's
 * listeners (the meters among them) only once the store has applied it to its session. The contract every
 * implementation meets, in memory or on a server shared by several processes:
 * <ul>
 *   <li>a batch is applied all or nothing, and an event whose event id was applied before only once, across
 *       retries; concurrent updates of one session never lose one;</li>
 *   <li>a snapshot of a session is internally consistent;</li>
 *   <li>sessions are listed by recency, most recently active first;</li>
 *   <li>a cleared session is gone at once, and a later event starts it afresh;</li>
 *   <li>it is bounded: past its bounds (sessions, records per session, bytes), or idle for too long, a
 *       session is evicted and counted; an error text is kept up to {@link #MAX_ERROR_CHARS};</li>
 *   <li>a request's record keeps its attributes and correlation id, and shows the scores of that correlation
 *       id, whether they came before or after it; a session keeps its most recent scores of requests up to its
 *       bound on records, and a summary per score name of every score it received, up to
 *       {@link #MAX_SCORE_NAMES} names; attributes and kept scores count toward the bound in bytes;</li>
 *   <li>it counts the requests in flight per model label ({@link #inFlight(String)}), each session its own, so
 *       that a request whose end never comes leaves with its session, or once the idle timeout has passed since its
 *       start, whichever comes first;</li>
 *   <li>once closed it records nothing more: a bus's events then fail as the store's failures do.</li>
 * </ul>
 * A store never calls anyone back: readers, the meters among them, ask it.
 */
public interface SessionStore extends Recorder, AutoCloseable {

    /** The most characters of a failure's error text a store keeps; a longer text is cut and ends in "…". */
    int MAX_ERROR_CHARS = 1024;

    /**
     * The most score names a session has summaries of its own for, in the session JSON and on the per-session
     * series; later names share {@link #OTHER_SCORE_NAME}. The per-model score meters hold the same bound over
     * all sessions.
     */
    int MAX_SCORE_NAMES = 16;

    /** The name scores past {@link #MAX_SCORE_NAMES} are summed under; no score can be named so. */
    String OTHER_SCORE_NAME = "_other";

    /**
     * Closes the store. From then on {@link #record(dev.llmmetrics.event.Event)} and {@link #record(List)} throw
     * {@link dev.llmmetrics.event.RecordingFailedException} and apply nothing, so that no event reaches the
     * listeners of a closed store's bus; what the store holds stays where it is. Closing again does nothing.
     */
    @Override
    void close();

    /** An error text as a store keeps it: cut to {@link #MAX_ERROR_CHARS}, never inside a character, marked when cut. */
    static String keptError(String error) {
        if (error.length() <= MAX_ERROR_CHARS) {
            return error;
        }
        int end = MAX_ERROR_CHARS - 1;
        if (Character.isHighSurrogate(error.charAt(end - 1))) {
            end--;
        }
        return error.substring(0, end) + "…";
    }

    /**
     * The model of the session's most recent request record with {@code correlationId}, or empty when the store
     * holds none (the request has not finished, or its record is no longer retained). The score meters label a
     * score with it.
     */
    default Optional<String> requestModel(String sessionId, String correlationId) {
        return Optional.empty();
    }

    /**
     * A snapshot of one session, or empty if the store does not hold it.
     *
     * @throws StoreUnavailableException when a store on a server could not read it (so may every read)
     */
    Optional<SessionMetrics> session(String sessionId);

    /**
     * A snapshot of one session's aggregates only, its {@code requests} list empty: cheaper than
     * {@link #session(String)} when the records are not needed.
     */
    default Optional<SessionMetrics> summary(String sessionId) {
        return session(sessionId).map(SessionMetrics::withoutRequests);
    }

    /**
     * The {@linkplain #summary(String) summaries} of {@code sessionIds}, in their order, leaving out the sessions
     * the store does not hold: what a table of sessions shows. A store on a server reads them in one round trip.
     *
     * @throws StoreUnavailableException when a store on a server could not read them
     */
    default List<SessionMetrics> summaries(List<String> sessionIds) {
        List<SessionMetrics> summaries = new ArrayList<>(sessionIds.size());
        for (String id : sessionIds) {
            summary(id).ifPresent(summaries::add);
        }
        return summaries;
    }

    /**
     * An opaque tag of the session's current state, which changes whenever {@link #session(String)} would
     * give something else, a session cleared and started again included; empty when the store does not hold
     * the session, or does not tag states (the default). Readers use it to reuse what they made of an earlier
     * snapshot, and as an HTTP entity tag.
     */
    default Optional<String> revision(String sessionId) {
        return Optional.empty();
    }

    /**
     * Session ids, most recently active first; sessions active in the same millisecond by id, the greater
     * first ({@link #compareIds}), so that the pages of one listing neither overlap nor leave a session out.
     *
     * @param offset how many of the most recent to skip; not negative
     * @param limit  the most ids to return; not negative
     */
    List<String> sessionIds(int offset, int limit);

    /**
     * The order of session ids among sessions active in the same millisecond, in every store and everything it
     * orders by activity (its listing, its capacity and memory bounds, its per-session series): by code point,
     * which is the order of their UTF-8 bytes, as Redis compares them, rather than {@link String#compareTo}'s
     * UTF-16 units, which put U+E000 to U+FFFF after the code points past U+FFFF.
     */
    static int compareIds(String a, String b) {
        int common = Math.min(a.length(), b.length());
        for (int i = 0; i < common; i++) {
            char x = a.charAt(i);
            char y = b.charAt(i);
            if (x != y) {
                return codePointRank(x) - codePointRank(y);
            }
        }
        return a.length() - b.length();
    }

    /**
     * A UTF-16 unit's rank in code point order, where it first differs from another: the surrogates, which write
     * the code points past U+FFFF, after U+E000 to U+FFFF.
     */
    private static int codePointRank(char c) {
        return c < Character.MIN_SURROGATE ? c : c <= Character.MAX_SURROGATE ? c + 0x2000 : c - 0x800;
    }

    /** How many sessions the store holds. */
    int sessionCount();

    /**
     * The requests of a model label in flight, summed over the sessions held: in each session, its
     * LLM_REQUEST_STARTED events of the label applied less its COMPLETED and FAILED events of the label applied
     * after them, never below 0 (a producer may send ends only: an end without a start in its session takes
     * nothing off). A session's requests in flight leave with it, however it leaves the store (cleared, evicted,
     * idle), so that a request whose end never comes (its producer died) is not in flight for good once its
     * session goes; and a start counts for the idle timeout at most, so that a session that stays active (a fallback
     * session every call without an id shares) sheds it too: as {@link InFlightRequests} counts them, by start time
     * in buckets of a quarter of the timeout, an end taking off a start of the bucket its call began in (its duration
     * before it), a bucket leaving once its start is
     * the timeout old, at the session's next start or end or at {@link #evictIdle()}. The
     * label is the one the {@link dev.llmmetrics.cost.ModelCatalog} gives the event's model. A store shared by several
     * processes counts the events of all of them, so that a request started through one and ended through
     * another is in flight in none; it answers at once, from what it last read. 0 for a label it has not counted.
     */
    long inFlight(String label);

    /**
     * The requests in flight of every label that has some, as {@link #inFlight(String)} counts them: so that a view
     * can list a label this process has no meters of, whose requests other processes sharing the store started.
     */
    Map<String, Long> inFlightByLabel();

    /**
     * Removes one session; {@code true} if the store held it.
     *
     * @throws dev.llmmetrics.event.RecordingFailedException when a durable store could not write the removal;
     *                                                       then the session is unchanged
     */
    boolean clear(String sessionId);

    /**
     * Removes one session only when its {@linkplain #revision(String) revision} meets {@code condition}, tested at
     * one moment with the removal with respect to the session's events: so that a client's conditions hold for the
     * state removed, not for one an event made after the test. A store that tags no states removes nothing (the
     * default).
     *
     * @return whether the session was removed; {@code false} when the store does not hold it or its revision does
     *         not meet {@code condition}
     * @throws dev.llmmetrics.event.RecordingFailedException when a durable store could not write the removal;
     *                                                       then the session is unchanged
     */
    default boolean clear(String sessionId, Predicate<String> condition) {
        return false;
    }

    /**
     * Why the store cannot record now, in words an operator may be shown (no path, no credential); empty while it
     * can: a store on a server says so while it cannot reach it, a store in a file while it cannot write it.
     * Answers at once, from what the store last saw; empty unless a store says otherwise.
     */
    default Optional<String> notReadyBecause() {
        return Optional.empty();
    }

    /** Whether the store can record now: {@link #notReadyBecause()} is empty. */
    default boolean ready() {
        return notReadyBecause().isEmpty();
    }

    /**
     * Removes the sessions idle for longer than the store's idle timeout and returns how many; and drops, in the
     * sessions it keeps, the starts the idle timeout old ({@link #inFlight(String)}).
     */
    int evictIdle();

    /** How many sessions the store has evicted for {@code reason} since it was created. */
    long evictions(EvictionReason reason);
}
