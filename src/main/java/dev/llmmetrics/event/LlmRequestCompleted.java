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
 * @param cachedTokens     of the prompt tokens, those the provider served from its prompt cache (billed
 *                         at the cached-input price); 0 to {@code promptTokens}, 0 when not reported
 * @param reasoningTokens  of the completion tokens, those the model spent reasoning before it answered;
 *                         0 to {@code completionTokens}, 0 when not reported
 * @param timeToFirstTokenMs for a streamed response, milliseconds from the start of the call to its first
 *                         token; 0 to {@code durationMs}, {@code null} when not streamed or not measured
 */
public record LlmRequestCompleted(String sessionId, String model, long durationMs, int promptTokens,
                                  int completionTokens, int totalTokens, boolean hasToolCalls,
                                  String correlationId, Instant timestamp, int cachedTokens, int reasoningTokens,
                                  Long timeToFirstTokenMs) implements Event {

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
        Checks.partOf("cachedTokens", cachedTokens, "promptTokens", promptTokens);
        Checks.partOf("reasoningTokens", reasoningTokens, "completionTokens", completionTokens);
        if (timeToFirstTokenMs != null) {
            Checks.partOf("timeToFirstTokenMs", timeToFirstTokenMs.longValue(), "durationMs", durationMs);
        }
    }

    /** A completed event without cached or reasoning tokens and without time to first token. */
    public LlmRequestCompleted(String sessionId, String model, long durationMs, int promptTokens,
                               int completionTokens, int totalTokens, boolean hasToolCalls,
                               String correlationId, Instant timestamp) {
        this(sessionId, model, durationMs, promptTokens, completionTokens, totalTokens, hasToolCalls, correlationId,
                timestamp, 0, 0, null);
    }

    /** A completed event without correlation id, timestamped now. */
    public LlmRequestCompleted(String sessionId, String model, long durationMs, int promptTokens,
                               int completionTokens, int totalTokens, boolean hasToolCalls) {
        this(sessionId, model, durationMs, promptTokens, completionTokens, totalTokens, hasToolCalls, null, null);
    }

    /** Whether the call was streamed and its time to first token measured. */
    public boolean hasTimeToFirstToken() {
        return timeToFirstTokenMs != null;
    }

    @Override
    public String type() {
        return EventTypes.LLM_REQUEST_COMPLETED;
    }
}
