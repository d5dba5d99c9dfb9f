package dev.llmmetrics.session;

import java.util.List;
import java.util.Objects;

/**
 * One session's score summaries, per name, for the per-session series.
 *
 * @param sessionId the session
 * @param scores    a summary per score name, in order of the names' first use
 */
public record SessionScores(String sessionId, List<ScoreSummary> scores) {

    /** Copies the summaries. */
    public SessionScores {
        Objects.requireNonNull(sessionId, "sessionId");
        scores = List.copyOf(scores);
    }
}
