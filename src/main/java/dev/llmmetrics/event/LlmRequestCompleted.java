package dev.llmmetrics.event;

import java.time.Instant;

/**
 * Published when an LLM call returned a response.
 *
 * @param sessionId        the session that made the call; not blank
 * @param model            the model called; not blank
 * @param durationMs       how long the call took, in milliseconds; 0 to {@link Event#MAX_DURATION_MS}
 * @param promptTokens     tokens in the prompt; not negative
 * @param completionTokens tokens in the completion; not negative
 * @param totalTokens      total tokens as reported by the provider; not negative
 * @param hasToolCalls     whether the response asked for tool calls
 * @param correlationId    ties this event to the call's STARTED event; optional
 * @param timestamp        when the call completed, years 1 to 9999; now (UTC) when {@code null}
 */
public record LlmRequestCompleted(String sessionId, String model, long durationMs, int promptTokens,
                                  int completionTokens, int totalTokens, boolean hasToolCalls,
                                  String correlationId, Instant timestamp) implements Event {

    /** Validates every field; see the class description. */
    public LlmRequestCompleted {
        sessionId = Checks.id("sessionId", sessionId);
        model = Checks.id("model", model);
        Checks.durationMs("durationMs", durationMs);
        Checks.nonNegative("promptTokens", promptTokens);
        Checks.nonNegative("completionTokens", completionTokens);
        Checks.nonNegative("totalTokens", totalTokens);
        correlationId = Checks.optionalId("correlationId", correlationId);
        timestamp = Checks.timestamp(timestamp);
    }

    /** A completed event without correlation id, timestamped now. */
    public LlmRequestCompleted(String sessionId, String model, long durationMs, int promptTokens,
                               int completionTokens, int totalTokens, boolean hasToolCalls) {
        this(sessionId, model, durationMs, promptTokens, completionTokens, totalTokens, hasToolCalls, null, null);
    }

    @Override
    public String type() {
        return EventTypes.LLM_REQUEST_COMPLETED;
    }
}
