package dev.llmmetrics.session;

import java.util.Objects;

/**
 * A session's scores of one name, over every score the session received, those of requests no longer
 * retained included.
 *
 * @param name  the score's name; {@link SessionStore#OTHER_SCORE_NAME} gathers those past the session's
 *              {@link SessionStore#MAX_SCORE_NAMES}
 * @param count how many scores
 * @param sum   their sum
 * @param mean  their mean
 * @param min   the lowest
 * @param max   the highest
 */
public record ScoreSummary(String name, long count, double sum, double mean, double min, double max) {

    /** Checks the summary is of at least one score and its figures are in order. */
    public ScoreSummary {
        Objects.requireNonNull(name, "name");
        if (count < 1 || !(min <= mean && mean <= max)) {
            throw new IllegalArgumentException("a summary is of at least one score, min <= mean <= max");
        }
    }
}
