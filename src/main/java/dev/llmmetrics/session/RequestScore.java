package dev.llmmetrics.session;

import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One score of a request, as the store shows it with the request's record.
 *
 * @param name      what was graded
 * @param value     the grade
 * @param comment   why, in words; {@code null} when none
 * @param timestamp when it was graded
 */
public record RequestScore(String name, double value, @Nullable String comment, Instant timestamp) {

    /** Checks the name and time are present and the value a number. */
    public RequestScore {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(timestamp, "timestamp");
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException("value must be finite, was " + value);
        }
    }
}
