package dev.llmmetrics.event;

import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Published right before an LLM call is sent.
 *
 * <pre>{@code
 * LlmRequestStarted started = LlmRequestStarted.builder(sessionId, "gpt-4o")
 *         .messagesCount(4).toolsCount(2).correlationId(callId).build();
 * }</pre>
 *
 * @param sessionId     the session making the call; not blank
 * @param model         the model called; not blank
 * @param messagesCount messages in the request; not negative
 * @param toolsCount    tools offered to the model; not negative
 * @param correlationId ties this event to the call's COMPLETED or FAILED event; {@code null} when none
 * @param timestamp     when the call started, years 1 to 9999
 * @param eventId       the producer's id of this event, for idempotent retries; {@code null} when none
 * @param provider      who serves the model, as the GenAI conventions name providers ({@code openai},
 *                      {@code anthropic}, {@code aws.bedrock}); {@code null} when the producer does not say
 * @param attributes    free-form string attributes of the call (a feature, a prompt version, a user tier …), at
 *                      most {@link Event#MAX_ATTRIBUTES}; kept with the request's record, never a metric label;
 *                      an unmodifiable copy
 */
public record LlmRequestStarted(String sessionId, String model, int messagesCount, int toolsCount,
                                @Nullable String correlationId, Instant timestamp, @Nullable String eventId,
                                @Nullable String provider, Map<String, String> attributes)
        implements Event {

    /**
     * Validates every field; see the class description. A {@code null} timestamp means now (UTC), and
     * {@code null} attributes none.
     *
     * @throws InvalidEventException naming the first field that is not valid
     */
    public LlmRequestStarted(String sessionId, String model, int messagesCount, int toolsCount,
                             @Nullable String correlationId, @Nullable Instant timestamp, @Nullable String eventId,
                             @Nullable String provider, @Nullable Map<String, String> attributes) {
        this.sessionId = Checks.id("sessionId", sessionId);
        this.model = Checks.id("model", model);
        this.messagesCount = Checks.nonNegative("messagesCount", messagesCount);
        this.toolsCount = Checks.nonNegative("toolsCount", toolsCount);
        this.correlationId = Checks.optionalId("correlationId", correlationId);
        this.timestamp = Checks.timestamp(timestamp);
        this.eventId = Checks.optionalId("eventId", eventId);
        this.provider = Checks.provider(provider);
        this.attributes = Checks.attributes(attributes);
    }

    /**
     * A builder of the event of a call by {@code sessionId} to {@code model}: no messages, no tools, no
     * correlation id, no provider and timestamped when built, unless set.
     */
    public static Builder builder(String sessionId, String model) {
        return new Builder(sessionId, model);
    }

    @Override
    public String type() {
        return EventTypes.LLM_REQUEST_STARTED;
    }

    /** Builds {@link LlmRequestStarted}; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
        private final String sessionId;
        private final String model;
        private int messagesCount;
        private int toolsCount;
        private @Nullable String correlationId;
        private @Nullable Instant timestamp;
        private @Nullable String eventId;
        private @Nullable String provider;
        private @Nullable Map<String, String> attributes;

        private Builder(String sessionId, String model) {
            this.sessionId = sessionId;
            this.model = model;
        }

        /** Messages in the request; 0 unless set. */
        public Builder messagesCount(int messagesCount) {
            this.messagesCount = messagesCount;
            return this;
        }

        /** Tools offered to the model; 0 unless set. */
        public Builder toolsCount(int toolsCount) {
            this.toolsCount = toolsCount;
            return this;
        }

        /** Ties the event to the call's COMPLETED or FAILED event; {@code null}, the default, for none. */
        public Builder correlationId(@Nullable String correlationId) {
            this.correlationId = correlationId;
            return this;
        }

        /** When the call started; {@code null}, the default, for the time of {@link #build()}. */
        public Builder timestamp(@Nullable Instant timestamp) {
            this.timestamp = timestamp;
            return this;
        }

        /** The producer's id of this event, for idempotent retries; {@code null}, the default, for none. */
        public Builder eventId(@Nullable String eventId) {
            this.eventId = eventId;
            return this;
        }

        /** Who serves the model, such as {@code openai}; {@code null}, the default, when not known. */
        public Builder provider(@Nullable String provider) {
            this.provider = provider;
            return this;
        }

        /**
         * Free-form string attributes of the call, at most {@link Event#MAX_ATTRIBUTES}; none unless set.
         */
        public Builder attributes(@Nullable Map<String, String> attributes) {
            this.attributes = attributes;
            return this;
        }

        /**
         * The event.
         *
         * @throws InvalidEventException naming the first field that is not valid
         */
        public LlmRequestStarted build() {
            return new LlmRequestStarted(sessionId, model, messagesCount, toolsCount, correlationId, timestamp, eventId,
                    provider, attributes);
        }
    }
}
