package dev.llmmetrics.event;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * Published when an LLM call returned a response.
 *
 * <pre>{@code
 * LlmRequestCompleted completed = LlmRequestCompleted.builder(sessionId, "gpt-4o")
 *         .durationMs(2400).promptTokens(2000).completionTokens(500).cachedTokens(1500)
 *         .timeToFirstTokenMs(400L).correlationId(callId).build();
 * }</pre>
 *
 * @param sessionId          the session that made the call; not blank
 * @param model              the model called; not blank
 * @param durationMs         how long the call took, in milliseconds; 0 to {@link Event#MAX_DURATION_MS}
 * @param promptTokens       tokens in the prompt; not negative
 * @param completionTokens   tokens in the completion; not negative
 * @param totalTokens        total tokens as reported by the provider; not negative
 * @param hasToolCalls       whether the response asked for tool calls
 * @param correlationId      ties this event to the call's STARTED event; {@code null} when none
 * @param timestamp          when the call completed, years 1 to 9999
 * @param cachedTokens       of the prompt tokens, those the provider served from its prompt cache (billed
 *                           at the cached-input price); 0 to {@code promptTokens}, 0 when not reported
 * @param reasoningTokens    of the completion tokens, those the model spent reasoning before it answered;
 *                           0 to {@code completionTokens}, 0 when not reported
 * @param timeToFirstTokenMs for a streamed response, milliseconds from the start of the call to its first
 *                           token, 0 to {@code durationMs}; {@code null} when not streamed or not measured
 * @param eventId            the producer's id of this event, for idempotent retries; {@code null} when none
 */
public record LlmRequestCompleted(String sessionId, String model, long durationMs, int promptTokens,
                                  int completionTokens, int totalTokens, boolean hasToolCalls,
                                  @Nullable String correlationId, Instant timestamp, int cachedTokens,
                                  int reasoningTokens, @Nullable Long timeToFirstTokenMs, @Nullable String eventId)
        implements Event {

    /**
     * Validates every field; see the class description. A {@code null} timestamp means now (UTC).
     *
     * @throws InvalidEventException naming the first field that is not valid
     */
    public LlmRequestCompleted(String sessionId, String model, long durationMs, int promptTokens,
                               int completionTokens, int totalTokens, boolean hasToolCalls,
                               @Nullable String correlationId, @Nullable Instant timestamp, int cachedTokens,
                               int reasoningTokens, @Nullable Long timeToFirstTokenMs, @Nullable String eventId) {
        this.sessionId = Checks.id("sessionId", sessionId);
        this.model = Checks.id("model", model);
        this.durationMs = Checks.durationMs("durationMs", durationMs);
        this.promptTokens = Checks.nonNegative("promptTokens", promptTokens);
        this.completionTokens = Checks.nonNegative("completionTokens", completionTokens);
        this.totalTokens = Checks.nonNegative("totalTokens", totalTokens);
        this.hasToolCalls = hasToolCalls;
        this.correlationId = Checks.optionalId("correlationId", correlationId);
        this.timestamp = Checks.timestamp(timestamp);
        Checks.partOf("cachedTokens", cachedTokens, "promptTokens", promptTokens);
        this.cachedTokens = cachedTokens;
        Checks.partOf("reasoningTokens", reasoningTokens, "completionTokens", completionTokens);
        this.reasoningTokens = reasoningTokens;
        if (timeToFirstTokenMs != null) {
            Checks.partOf("timeToFirstTokenMs", timeToFirstTokenMs.longValue(), "durationMs", durationMs);
        }
        this.timeToFirstTokenMs = timeToFirstTokenMs;
        this.eventId = Checks.optionalId("eventId", eventId);
    }

    /**
     * A builder of the event of a call by {@code sessionId} to {@code model}: every count and the duration
     * 0, the total the sum of prompt and completion tokens, no tool calls, no correlation id, no time to
     * first token and timestamped when built, unless set.
     */
    public static Builder builder(String sessionId, String model) {
        return new Builder(sessionId, model);
    }

    /** Whether the call was streamed and its time to first token measured. */
    public boolean hasTimeToFirstToken() {
        return timeToFirstTokenMs != null;
    }

    @Override
    public String type() {
        return EventTypes.LLM_REQUEST_COMPLETED;
    }

    /** Builds {@link LlmRequestCompleted}; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
        private final String sessionId;
        private final String model;
        private long durationMs;
        private int promptTokens;
        private int completionTokens;
        /** The total the provider reported; {@code null} for the sum of prompt and completion tokens. */
        private @Nullable Integer totalTokens;
        private boolean hasToolCalls;
        private @Nullable String correlationId;
        private @Nullable Instant timestamp;
        private @Nullable String eventId;
        private int cachedTokens;
        private int reasoningTokens;
        private @Nullable Long timeToFirstTokenMs;

        private Builder(String sessionId, String model) {
            this.sessionId = sessionId;
            this.model = model;
        }

        /** How long the call took, in milliseconds; 0 unless set. */
        public Builder durationMs(long durationMs) {
            this.durationMs = durationMs;
            return this;
        }

        /** Tokens in the prompt; 0 unless set. */
        public Builder promptTokens(int promptTokens) {
            this.promptTokens = promptTokens;
            return this;
        }

        /** Tokens in the completion; 0 unless set. */
        public Builder completionTokens(int completionTokens) {
            this.completionTokens = completionTokens;
            return this;
        }

        /** Total tokens as the provider reported them; the sum of prompt and completion tokens unless set. */
        public Builder totalTokens(int totalTokens) {
            this.totalTokens = totalTokens;
            return this;
        }

        /** Whether the response asked for tool calls; {@code false} unless set. */
        public Builder hasToolCalls(boolean hasToolCalls) {
            this.hasToolCalls = hasToolCalls;
            return this;
        }

        /** Ties the event to the call's STARTED event; {@code null}, the default, for none. */
        public Builder correlationId(@Nullable String correlationId) {
            this.correlationId = correlationId;
            return this;
        }

        /** When the call completed; {@code null}, the default, for the time of {@link #build()}. */
        public Builder timestamp(@Nullable Instant timestamp) {
            this.timestamp = timestamp;
            return this;
        }

        /** The producer's id of this event, for idempotent retries; {@code null}, the default, for none. */
        public Builder eventId(@Nullable String eventId) {
            this.eventId = eventId;
            return this;
        }

        /** Of the prompt tokens, those served from the provider's prompt cache; 0 unless set. */
        public Builder cachedTokens(int cachedTokens) {
            this.cachedTokens = cachedTokens;
            return this;
        }

        /** Of the completion tokens, those spent reasoning; 0 unless set. */
        public Builder reasoningTokens(int reasoningTokens) {
            this.reasoningTokens = reasoningTokens;
            return this;
        }

        /**
         * Milliseconds from the start of a streamed call to its first token; {@code null}, the default, when
         * not streamed or not measured.
         */
        public Builder timeToFirstTokenMs(@Nullable Long timeToFirstTokenMs) {
            this.timeToFirstTokenMs = timeToFirstTokenMs;
            return this;
        }

        /**
         * The event.
         *
         * @throws InvalidEventException naming the first field that is not valid, {@code totalTokens} when it
         *                               was not set and the sum of prompt and completion tokens exceeds an int
         */
        public LlmRequestCompleted build() {
            return new LlmRequestCompleted(sessionId, model, durationMs, promptTokens, completionTokens,
                    totalTokens != null ? totalTokens : sum(), hasToolCalls, correlationId, timestamp, cachedTokens,
                    reasoningTokens, timeToFirstTokenMs, eventId);
        }

        private int sum() {
            long sum = (long) promptTokens + completionTokens;
            if (sum > Integer.MAX_VALUE) {
                throw Checks.invalid("totalTokens", "(promptTokens + completionTokens) must be at most "
                        + Integer.MAX_VALUE + ", was " + sum);
            }
            return (int) sum;
        }
    }
}
