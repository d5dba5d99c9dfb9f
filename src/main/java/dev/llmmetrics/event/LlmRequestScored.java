package dev.llmmetrics.event;

import java.time.Instant;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Published when an LLM call, or a whole session, was graded: a user's thumbs up or down, an LLM-as-judge
 * grade, a guardrail's verdict. It may come before the call's COMPLETED event or long after it; the store ties
 * it to the call by its correlation id.
 *
 * <pre>{@code
 * LlmRequestScored score = LlmRequestScored.builder(sessionId, "helpfulness", 0.8)
 *         .correlationId(callId).comment("judge: cites the right document").build();
 * }</pre>
 *
 * @param sessionId     the session graded; not blank
 * @param correlationId the call graded, as its events' correlation id; {@code null} for a score of the session
 * @param name          what was graded: a letter, then letters, digits, {@code _ . : -}, at most
 *                      {@value #MAX_NAME_LENGTH} characters, such as {@code helpfulness} or {@code user.thumbs}
 * @param value         the grade, 0 to {@value #MAX_VALUE}; a yes/no verdict as 1 or 0
 * @param comment       why, in words; at most {@value #MAX_COMMENT_LENGTH} characters, {@code null} when none
 * @param timestamp     when it was graded, years 1 to 9999
 * @param eventId       the producer's id of this event, for idempotent retries; {@code null} when none
 */
public record LlmRequestScored(String sessionId, @Nullable String correlationId, String name, double value,
                               @Nullable String comment, Instant timestamp, @Nullable String eventId) implements Event {

    /** The longest score name accepted: names are labels of the score meters. */
    public static final int MAX_NAME_LENGTH = 64;
    /**
     * The highest value accepted. Values are not negative: Micrometer's distribution summaries drop negative
     * amounts, so a scale such as -1 to 1 is to be shifted to 0 to 2.
     */
    public static final double MAX_VALUE = 1_000_000;
    /** The longest comment accepted. */
    public static final int MAX_COMMENT_LENGTH = 1024;

    private static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_.:-]*");

    /**
     * Validates every field; see the class description. A {@code null} timestamp means now (UTC).
     *
     * @throws InvalidEventException naming the first field that is not valid
     */
    public LlmRequestScored(String sessionId, @Nullable String correlationId, String name, double value,
                            @Nullable String comment, @Nullable Instant timestamp, @Nullable String eventId) {
        this.sessionId = Checks.id("sessionId", sessionId);
        this.correlationId = Checks.optionalId("correlationId", correlationId);
        if (name == null || name.length() > MAX_NAME_LENGTH || !NAME.matcher(name).matches()) {
            throw Checks.invalid("name", "must be a letter then letters, digits, '_', '.', ':' or '-', at most "
                    + MAX_NAME_LENGTH + " characters");
        }
        this.name = name;
        if (!(value >= 0 && value <= MAX_VALUE)) {
            throw Checks.invalid("value", "must be a number from 0 to " + (long) MAX_VALUE + ", was " + value);
        }
        this.value = value + 0.0; // -0.0 is 0: every store then agrees on a name's minimum and maximum
        this.comment = comment == null ? null : Checks.text("comment", comment, MAX_COMMENT_LENGTH, true);
        this.timestamp = Checks.timestamp(timestamp);
        this.eventId = Checks.optionalId("eventId", eventId);
    }

    /**
     * A builder of the score {@code name} = {@code value} of session {@code sessionId}: of the session as a
     * whole, without comment and timestamped when built, unless set.
     */
    public static Builder builder(String sessionId, String name, double value) {
        return new Builder(sessionId, name, value);
    }

    @Override
    public String type() {
        return EventTypes.LLM_REQUEST_SCORED;
    }

    /** Builds {@link LlmRequestScored}; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
        private final String sessionId;
        private final String name;
        private final double value;
        private @Nullable String correlationId;
        private @Nullable String comment;
        private @Nullable Instant timestamp;
        private @Nullable String eventId;

        private Builder(String sessionId, String name, double value) {
            this.sessionId = sessionId;
            this.name = name;
            this.value = value;
        }

        /** The call graded, as its events' correlation id; {@code null}, the default, for the session as a whole. */
        public Builder correlationId(@Nullable String correlationId) {
            this.correlationId = correlationId;
            return this;
        }

        /** Why, in words; {@code null}, the default, for none. */
        public Builder comment(@Nullable String comment) {
            this.comment = comment;
            return this;
        }

        /** When it was graded; {@code null}, the default, for the time of {@link #build()}. */
        public Builder timestamp(@Nullable Instant timestamp) {
            this.timestamp = timestamp;
            return this;
        }

        /** The producer's id of this event, for idempotent retries; {@code null}, the default, for none. */
        public Builder eventId(@Nullable String eventId) {
            this.eventId = eventId;
            return this;
        }

        /**
         * The event.
         *
         * @throws InvalidEventException naming the first field that is not valid
         */
        public LlmRequestScored build() {
            return new LlmRequestScored(sessionId, correlationId, name, value, comment, timestamp, eventId);
        }
    }
}
