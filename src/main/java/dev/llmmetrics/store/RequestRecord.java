package dev.llmmetrics.store;

import java.time.Instant;
import java.util.Objects;

/**
 * One LLM request as the store remembers it.
 *
 * @param timestamp        when the request completed or failed
 * @param model            the model called
 * @param durationMs       how long it took in milliseconds; 0 for a failure of unknown duration
 * @param promptTokens     prompt tokens; 0 for a failure
 * @param completionTokens completion tokens; 0 for a failure
 * @param totalTokens      total tokens; 0 for a failure
 * @param hasToolCalls     whether the response asked for tool calls
 * @param success          whether the request completed
 * @param error            what went wrong, {@code null} for a success
 */
public record RequestRecord(Instant timestamp, String model, long durationMs, int promptTokens, int completionTokens,
                            int totalTokens, boolean hasToolCalls, boolean success, String error) {

    /** Checks the record is self-consistent: a success has no error, a failure has no tokens. */
    public RequestRecord {
        Objects.requireNonNull(timestamp, "timestamp");
        Objects.requireNonNull(model, "model");
        if (durationMs < 0 || promptTokens < 0 || completionTokens < 0 || totalTokens < 0) {
            throw new IllegalArgumentException("durationMs and token counts must not be negative");
        }
        if (success && error != null) {
            throw new IllegalArgumentException("a successful request has no error");
        }
        if (!success && (error == null || promptTokens != 0 || completionTokens != 0 || totalTokens != 0 || hasToolCalls)) {
            throw new IllegalArgumentException("a failed request has an error and no tokens or tool calls");
        }
    }
}
