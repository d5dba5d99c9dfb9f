package dev.llmmetrics.session;

import java.util.List;
import java.util.Objects;

/**
 * The sessions one scrape shows the per-session series of, whole, most recently active first.
 *
 * @param pairs    their (session, model) figures, a session's adjacent
 * @param scores   the score summaries of those of them that have scores, in the same order
 * @param sessions how many sessions they are
 */
public record SessionsOnScrape(List<PairFigures> pairs, List<SessionScores> scores, int sessions) {

    /** Checks the count is not negative; the lists are kept as given, read once by the scrape. */
    public SessionsOnScrape {
        Objects.requireNonNull(pairs, "pairs");
        Objects.requireNonNull(scores, "scores");
        if (sessions < 0) {
            throw new IllegalArgumentException("sessions must not be negative, was " + sessions);
        }
    }
}
