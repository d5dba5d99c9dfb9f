package dev.llmmetrics.session;

import java.util.ArrayList;
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
     * The sessions on one scrape: of the most recently active, whole and in order, as many as fit
     * {@code maxSessions} and, their (session, model) and (session, score name) pairs counted together,
     * {@code maxPairs}. Here the sessions {@link #mostRecentPairs} gives, then as many of them as fit with their
     * score names counted too: a session joins with its first finished request, and the scores only ever shorten
     * the list. A source that keeps the scores of sessions without a finished request shows them by overriding
     * this.
     *
     * @param maxSessions most sessions to include; not negative
     * @param maxPairs    most pairs, of models and score names together, to include; not negative
     */
    default SessionsOnScrape mostRecent(int maxSessions, int maxPairs) {
        List<PairFigures> pairs = mostRecentPairs(maxSessions, maxPairs);
        List<String> ids = new ArrayList<>();
        for (PairFigures pair : pairs) {
            if (ids.isEmpty() || !ids.getLast().equals(pair.sessionId())) {
                ids.add(pair.sessionId());
            }
        }
        List<SessionScores> scores = ids.isEmpty() ? List.of() : scores(ids);
        int room = maxPairs;
        int pairEnd = 0;
        int scoreEnd = 0;
        int sessions = 0;
        for (String id : ids) {
            int end = pairEnd;
            while (end < pairs.size() && pairs.get(end).sessionId().equals(id)) {
                end++;
            }
            boolean scored = scoreEnd < scores.size() && scores.get(scoreEnd).sessionId().equals(id);
            int cost = end - pairEnd + (scored ? scores.get(scoreEnd).scores().size() : 0);
            if (cost > room) {
                break; // the budget is spent: more recent sessions first, none cut in half
            }
            room -= cost;
            pairEnd = end;
            scoreEnd += scored ? 1 : 0;
            sessions++;
        }
        return new SessionsOnScrape(pairs.subList(0, pairEnd), scores.subList(0, scoreEnd), sessions);
    }

    /**
     * How many events went to a session's {@code _other} pair for want of room: the session had used its own model
     * labels, or their model is past the catalog's labels. Not those of a model named as a reserved label.
     */
    long modelOverflows();
}
