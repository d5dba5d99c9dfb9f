package dev.llmmetrics.event;

import java.time.Instant;

/**
 * Published when an LLM call ended in an error.
 *
 * @param sessionId     the session that made the call; not blank
 * @param model         the model called; not blank
 * @param error         what went wrong, for example the exception class and message; at most 4096 characters
 * @param correlationId ties this event to the call's STARTED event; optional
 * @param timestamp     when the call failed, years 1 to 9999; now (UTC) when {@code null}
 * @param durationMs    how long the call ran before it failed, in milliseconds, or {@code null} when
 *                      unknown (events from outside the JVM often do not know it); 0 to
 *                      {@link Event#MAX_DURATION_MS}
 */
public record LlmRequestFailed(String sessionId, String model, String error, String correlationId,
                               Instant timestamp, Long durationMs) implements Event {

    /** The longest error text accepted. */
    public static final int MAX_ERROR_LENGTH = 4096;

    /** Validates every field; see the class description. */
    public LlmRequestFailed {
        sessionId = Checks.id("sessionId", sessionId);
        model = Checks.id("model", model);
        error = Checks.text("error", error, MAX_ERROR_LENGTH, true);
        correlationId = Checks.optionalId("correlationId", correlationId);
        timestamp = Checks.timestamp(timestamp);
        if (durationMs != null) {
            Checks.durationMs("durationMs", durationMs.longValue());
        }
    }

    /** A failed event of unknown duration, without correlation id, timestamped now. */
    public LlmRequestFailed(String sessionId, String model, String error) {
        this(sessionId, model, error, null, null, null);
    }

    /** Whether the failed call's duration is known. */
    public boolean hasDuration() {
        return durationMs != null;
    }

    @Override
    public String type() {
        return EventTypes.LLM_REQUEST_FAILED;
    }
}
