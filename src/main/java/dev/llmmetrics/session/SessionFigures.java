package dev.llmmetrics.session;

import java.util.List;

/**
 * The per-session figures of this process, read by the per-session series at scrape time. Prometheus
 * sums series across replicas, so a source counts only the events this process recorded, whatever
 * store serves the session JSON.
 */
public interface SessionFigures {

    /** How many sessions have figures here. */
    int sessionCount();

    /**
     * The (session, model) pairs of the {@code maxSessions} most recently active sessions.
     *
     * @param maxSessions most sessions to include; not negative
     */
    List<PairFigures> mostRecentPairs(int maxSessions);
}
