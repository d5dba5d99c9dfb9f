package dev.llmmetrics.session;

import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import java.util.List;
import java.util.Optional;

/**
 * Where per-session detail lives.
 *
 * <p>Implementations are thread-safe: concurrent updates of one session never lose an update, and a
 * snapshot is always internally consistent. A store is bounded; a session it drops for lack of room or
 * for being idle is reported to the {@link EvictionListener}s.
 */
public interface SessionStore {

    /** Notes that a session started a request (it becomes, or stays, active). */
    void recordStarted(LlmRequestStarted event);

    /** Adds a successful request to its session. */
    void recordCompleted(LlmRequestCompleted event);

    /** Adds a failed request to its session. */
    void recordFailed(LlmRequestFailed event);

    /** A snapshot of one session, or empty if the store does not hold it. */
    Optional<SessionMetrics> session(String sessionId);

    /**
     * A snapshot of one session's aggregates only, its {@code requests} list empty: cheaper than
     * {@link #session(String)} when the records are not needed.
     */
    default Optional<SessionMetrics> summary(String sessionId) {
        return session(sessionId).map(SessionMetrics::withoutRequests);
    }

    /**
     * An opaque tag of the session's current state, which changes whenever {@link #session(String)} would
     * give something else, a session cleared and started again included; {@code null} when the store does
     * not hold the session, or does not tag states (the default). Readers use it to reuse what they made of
     * an earlier snapshot, and as an HTTP entity tag.
     */
    default String revision(String sessionId) {
        return null;
    }

    /**
     * Session ids, most recently active first.
     *
     * @param offset how many of the most recent to skip; not negative
     * @param limit  the most ids to return; not negative
     */
    List<String> sessionIds(int offset, int limit);

    /** How many sessions the store holds. */
    int sessionCount();

    /** Removes one session; {@code true} if the store held it. Listeners are not told: the caller knows. */
    boolean clear(String sessionId);

    /** Removes the sessions idle for longer than the store's idle timeout and returns how many. */
    int evictIdle();

    /** Registers a listener told of every session the store evicts. */
    void addEvictionListener(EvictionListener listener);

    /** Told when a store evicts a session. */
    @FunctionalInterface
    interface EvictionListener {

        /** Called once per evicted session, after it left the store. */
        void evicted(String sessionId, EvictionReason reason);
    }
}
