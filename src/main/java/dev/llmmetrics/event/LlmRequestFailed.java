package dev.llmmetrics.event;

import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Published when an LLM call ended in an error.
 *
 * <pre>{@code
 * LlmRequestFailed failed = LlmRequestFailed.builder(sessionId, "gpt-4o")
 *         .error("RateLimitError: 429").errorType(ErrorType.RATE_LIMIT).httpStatus(429)
 *         .durationMs(120L).correlationId(callId).build();
 * }</pre>
 *
 * @param sessionId     the session that made the call; not blank
 * @param model         the model called; not blank
 * @param error         what went wrong, for example the exception class and message; at most 4096 characters
 * @param correlationId ties this event to the call's STARTED event; {@code null} when none
 * @param timestamp     when the call failed, years 1 to 9999
 * @param durationMs    how long the call ran before it failed, in milliseconds, 0 to
 *                      {@link Event#MAX_DURATION_MS}; {@code null} when unknown (events from outside the JVM
 *                      often do not know it)
 * @param eventId       the producer's id of this event, for idempotent retries; {@code null} when none
 * @param errorType     what kind of failure it was, in the {@link ErrorType} vocabulary; when not given but
 *                      {@code httpStatus} is, the type that status means ({@link ErrorType#ofHttpStatus});
 *                      {@code null} when neither is known
 * @param httpStatus    the HTTP status the provider answered, 100 to 599; {@code null} when there was none
 *                      (a timeout, a refused connection) or it is not known
 * @param provider      who serves the model, as the GenAI conventions name providers ({@code openai},
 *                      {@code anthropic}, {@code aws.bedrock}); {@code null} when the producer does not say
 * @param attributes    free-form string attributes of the call (a feature, a prompt version, a user tier …), at
 *                      most {@link Event#MAX_ATTRIBUTES}; kept with the request's record, never a metric label;
 *                      an unmodifiable copy
 */
public record LlmRequestFailed(String sessionId, String model, String error, @Nullable String correlationId,
                               Instant timestamp, @Nullable Long durationMs, @Nullable String eventId,
                               @Nullable ErrorType errorType, @Nullable Integer httpStatus, @Nullable String provider,
                               Map<String, String> attributes)
        implements Event {

    /** The longest error text accepted. */
    public static final int MAX_ERROR_LENGTH = 4096;

    /**
     * Validates every field; see the class description. A {@code null} timestamp means now (UTC), and
     * {@code null} attributes none.
     *
     * @throws InvalidEventException naming the first field that is not valid
     */
    public LlmRequestFailed(String sessionId, String model, String error, @Nullable String correlationId,
                            @Nullable Instant timestamp, @Nullable Long durationMs, @Nullable String eventId,
                            @Nullable ErrorType errorType, @Nullable Integer httpStatus, @Nullable String provider,
                            @Nullable Map<String, String> attributes) {
        this.sessionId = Checks.id("sessionId", sessionId);
        this.model = Checks.id("model", model);
        this.error = Checks.text("error", error, MAX_ERROR_LENGTH, true);
        this.correlationId = Checks.optionalId("correlationId", correlationId);
        this.timestamp = Checks.timestamp(timestamp);
        if (durationMs != null) {
            Checks.durationMs("durationMs", durationMs.longValue());
        }
        this.durationMs = durationMs;
        this.eventId = Checks.optionalId("eventId", eventId);
        this.httpStatus = Checks.httpStatus(httpStatus);
        this.errorType = errorType == null && httpStatus != null ? ErrorType.ofHttpStatus(httpStatus) : errorType;
        this.provider = Checks.provider(provider);
        this.attributes = Checks.attributes(attributes);
    }

    /**
     * A builder of the event of a call by {@code sessionId} to {@code model}; the error is required, the
     * duration, error type, HTTP status and provider unknown, no correlation id and timestamped when built,
     * unless set.
     */
    public static Builder builder(String sessionId, String model) {
        return new Builder(sessionId, model);
    }

    /** The failure's type as a label value: its wire name, {@code _OTHER} when the type is not known. */
    public String errorTypeLabel() {
        return (errorType == null ? ErrorType.OTHER : errorType).wireName();
    }

    /** Whether the failed call's duration is known. */
    public boolean hasDuration() {
        return durationMs != null;
    }

    @Override
    public String type() {
        return EventTypes.LLM_REQUEST_FAILED;
    }

    /** Builds {@link LlmRequestFailed}; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
        private final String sessionId;
        private final String model;
        private @Nullable String error;
        private @Nullable String correlationId;
        private @Nullable Instant timestamp;
        private @Nullable String eventId;
        private @Nullable Long durationMs;
        private @Nullable ErrorType errorType;
        private @Nullable Integer httpStatus;
        private @Nullable String provider;
        private @Nullable Map<String, String> attributes;

        private Builder(String sessionId, String model) {
            this.sessionId = sessionId;
            this.model = model;
        }

        /** What went wrong; required. */
        public Builder error(String error) {
            this.error = error;
            return this;
        }

        /** Ties the event to the call's STARTED event; {@code null}, the default, for none. */
        public Builder correlationId(@Nullable String correlationId) {
            this.correlationId = correlationId;
            return this;
        }

        /** When the call failed; {@code null}, the default, for the time of {@link #build()}. */
        public Builder timestamp(@Nullable Instant timestamp) {
            this.timestamp = timestamp;
            return this;
        }

        /** The producer's id of this event, for idempotent retries; {@code null}, the default, for none. */
        public Builder eventId(@Nullable String eventId) {
            this.eventId = eventId;
            return this;
        }

        /** How long the call ran before it failed, in milliseconds; {@code null}, the default, when unknown. */
        public Builder durationMs(@Nullable Long durationMs) {
            this.durationMs = durationMs;
            return this;
        }

        /**
         * What kind of failure it was; {@code null}, the default, for the type {@link #httpStatus} means,
         * or unknown when there is none.
         */
        public Builder errorType(@Nullable ErrorType errorType) {
            this.errorType = errorType;
            return this;
        }

        /** The HTTP status the provider answered; {@code null}, the default, when there was none or it is not known. */
        public Builder httpStatus(@Nullable Integer httpStatus) {
            this.httpStatus = httpStatus;
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
         * @throws InvalidEventException naming the first field that is not valid, {@code error} when it was not set
         */
        public LlmRequestFailed build() {
            return new LlmRequestFailed(sessionId, model, Checks.present("error", error), correlationId, timestamp,
                    durationMs, eventId, errorType, httpStatus, provider, attributes);
        }
    }
}
