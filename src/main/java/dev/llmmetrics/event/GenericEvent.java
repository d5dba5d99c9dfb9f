package dev.llmmetrics.event;

import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Any other event an agent runtime emits (agent, tool, human-in-the-loop …), carried so that the bus
 * counts it.
 *
 * @param type          an upper-snake type name, for example {@code TOOL_CALL_STARTED}; not one of the
 *                      four LLM request types (started, completed, failed, scored), which have records of their own
 * @param sessionId     the session the event belongs to; {@code null} when none
 * @param correlationId ties related events together; {@code null} when none
 * @param timestamp     when it happened, years 1 to 9999
 * @param attributes    free-form string attributes, at most {@link Event#MAX_ATTRIBUTES}; an unmodifiable copy
 * @param eventId       the producer's id of this event, for idempotent retries; {@code null} when none
 */
public record GenericEvent(String type, @Nullable String sessionId, @Nullable String correlationId, Instant timestamp,
                           Map<String, String> attributes, @Nullable String eventId) implements Event {

    /**
     * Validates every field; see the class description. A {@code null} timestamp means now (UTC), and
     * {@code null} attributes none.
     *
     * @throws InvalidEventException naming the first field that is not valid
     */
    public GenericEvent(String type, @Nullable String sessionId, @Nullable String correlationId,
                        @Nullable Instant timestamp, @Nullable Map<String, String> attributes, @Nullable String eventId) {
        if (!EventTypes.isValidTypeName(type)) {
            throw Checks.invalid("type", "must be an upper-snake name of at most "
                    + EventTypes.MAX_TYPE_LENGTH + " characters such as AGENT_STARTED");
        }
        if (EventTypes.isLlmRequestType(type)) { // the four types with records of their own
            throw Checks.invalid("type", type + " has its own event record; use it instead of GenericEvent");
        }
        this.type = type;
        this.sessionId = Checks.optionalId("sessionId", sessionId);
        this.correlationId = Checks.optionalId("correlationId", correlationId);
        this.timestamp = Checks.timestamp(timestamp);
        this.attributes = Checks.attributes(attributes);
        this.eventId = Checks.optionalId("eventId", eventId);
    }

    /** A generic event without an event id; see the canonical constructor. */
    public GenericEvent(String type, @Nullable String sessionId, @Nullable String correlationId,
                        @Nullable Instant timestamp, @Nullable Map<String, String> attributes) {
        this(type, sessionId, correlationId, timestamp, attributes, null);
    }

    /** A generic event of the given type for a session, timestamped now, without attributes. */
    public GenericEvent(String type, @Nullable String sessionId) {
        this(type, sessionId, null, null, Map.of(), null);
    }
}
