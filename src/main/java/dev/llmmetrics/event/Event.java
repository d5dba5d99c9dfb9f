package dev.llmmetrics.event;

import java.time.Instant;

/**
 * An event published on the {@link EventBus}.
 *
 * <p>Every event has an upper-snake {@linkplain #type() type name}, the session it belongs to, an
 * optional correlation id that ties the events of one LLM call together, and a UTC timestamp.
 */
public sealed interface Event permits LlmRequestStarted, LlmRequestCompleted, LlmRequestFailed, GenericEvent {

    /**
     * The longest session id, model name and correlation id accepted. Ids must also be free of control
     * characters and valid Unicode.
     */
    int MAX_ID_LENGTH = 256;

    /** The event type name, for example {@code LLM_REQUEST_COMPLETED}. */
    String type();

    /** The session the event belongs to; never blank for LLM events, {@code null} allowed for generic ones. */
    String sessionId();

    /** The correlation id tying together the events of one call, or {@code null}. */
    String correlationId();

    /** When the event happened. */
    Instant timestamp();
}
