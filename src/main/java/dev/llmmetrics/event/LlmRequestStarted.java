package dev.llmmetrics.event;

import java.time.Instant;

/**
 * Published right before an LLM call is sent.
 *
 * @param sessionId     the session making the call; not blank
 * @param model         the model called; not blank
 * @param messagesCount messages in the request; not negative
 * @param toolsCount    tools offered to the model; not negative
 * @param correlationId ties this event to the call's COMPLETED or FAILED event; optional
 * @param timestamp     when the call started, years 1 to 9999; now (UTC) when {@code null}
 */
public record LlmRequestStarted(String sessionId, String model, int messagesCount, int toolsCount,
                                String correlationId, Instant timestamp) implements Event {

    /** Validates every field; see the class description. */
    public LlmRequestStarted {
        sessionId = Checks.id("sessionId", sessionId);
        model = Checks.id("model", model);
        Checks.nonNegative("messagesCount", messagesCount);
        Checks.nonNegative("toolsCount", toolsCount);
        correlationId = Checks.optionalId("correlationId", correlationId);
        timestamp = Checks.timestamp(timestamp);
    }

    /** A started event without correlation id, timestamped now. */
    public LlmRequestStarted(String sessionId, String model, int messagesCount, int toolsCount) {
        this(sessionId, model, messagesCount, toolsCount, null, null);
    }

    @Override
    public String type() {
        return EventTypes.LLM_REQUEST_STARTED;
    }
}
