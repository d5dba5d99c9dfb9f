package dev.llmmetrics.session;

import java.util.List;

/**
 * The per-session figures of this process, read by the per-session series at scrape time. Prometheus
 * sums series across replicas, so a source counts only the events this process recorded, whatever
 * store serves the session JSON.
 */
public interface SessionFigures {


    /**
     * The (session, model) pairs of the most recently active sessions: at most {@code maxSessions} sessions
     * and {@code maxPairs} pairs, whole sessions only, most recent first.
     *
     * @param maxSessions most sessions to include; not negative
     * @param maxPairs    most pairs to include; not negative
     */
    List<PairFigures> mostRecentPairs(int maxSessions, int maxPairs);

    /**
     * The score summaries of those of {@code sessionIds} that have scores, in their order: the per-session
     * score series of the sessions {@link #mostRecentPairs} gave. None unless a source keeps scores.
     */
    default List<SessionScores> scores(List<String> sessionIds) {
        return List.of();
    }

    /**
     * How many events went to a session's {@code _other} pair for want of room: the session had used its own model
     * labels, or their model is past the catalog's labels. Not those of a model named as a reserved label.
     */
    long modelOverflows();
}
