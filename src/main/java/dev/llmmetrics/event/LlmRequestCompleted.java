package dev.llmmetrics.event;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Published when an LLM call returned a response.
 *
 * <pre>{@code
 * LlmRequestCompleted completed = LlmRequestCompleted.builder(sessionId, "gpt-4o")
 *         .durationMs(2400).promptTokens(2000).completionTokens(500).cachedTokens(1500)
 *         .timeToFirstTokenMs(400L).correlationId(callId).provider("openai").build();
 * }</pre>
 *
 * <p>A response that reported no token usage has {@code null} token counts, not zeros: a builder on which
 * no count is set builds such an event, and its cached and reasoning tokens are 0.
 *
 * @param sessionId          the session that made the call; not blank
 * @param model              the model called; not blank
 * @param durationMs         how long the call took, in milliseconds; 0 to {@link Event#MAX_DURATION_MS}
 * @param promptTokens       tokens in the prompt; not negative; {@code null} when the response reported no usage
 * @param completionTokens   tokens in the completion; not negative; {@code null} exactly when
 *                           {@code promptTokens} is
 * @param totalTokens        total tokens as reported by the provider; not negative; {@code null} exactly when
 *                           {@code promptTokens} is
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
 * @param provider           who serves the model, as the GenAI conventions name providers ({@code openai},
 *                           {@code anthropic}, {@code aws.bedrock}); {@code null} when the producer does not say
 * @param costUsd            what the call cost in US dollars as the provider or gateway reported it (OpenRouter,
 *                           LiteLLM), 0 to {@link Event#MAX_COST_USD}; preferred over the cost computed from the
 *                           price table; {@code null} when not reported
 * @param responseModel      the model that answered, as the response names it ({@code gpt-4o-2024-08-06} for a
 *                           request to {@code gpt-4o}); {@code null} when not known
 * @param cacheWriteTokens   of the prompt tokens, those the provider wrote to its prompt cache (billed at the
 *                           cache-write price, as Anthropic does); with {@code cachedTokens} at most
 *                           {@code promptTokens}, 0 when not reported
 * @param attributes         free-form string attributes of the call (a feature, a prompt version, a user tier …),
 *                           at most {@link Event#MAX_ATTRIBUTES}; kept with the request's record, never a metric
 *                           label; an unmodifiable copy
 */
public record LlmRequestCompleted(String sessionId, String model, long durationMs, @Nullable Integer promptTokens,
                                  @Nullable Integer completionTokens, @Nullable Integer totalTokens,
                                  boolean hasToolCalls, @Nullable String correlationId, Instant timestamp,
                                  int cachedTokens, int reasoningTokens, @Nullable Long timeToFirstTokenMs,
                                  @Nullable String eventId, @Nullable String provider, @Nullable Double costUsd,
                                  @Nullable String responseModel, int cacheWriteTokens, Map<String, String> attributes)
        implements Event {

    /**
     * Validates every field; see the class description. A {@code null} timestamp means now (UTC), and
     * {@code null} attributes none.
     *
     * @throws InvalidEventException naming the first field that is not valid
     */
    public LlmRequestCompleted(String sessionId, String model, long durationMs, @Nullable Integer promptTokens,
                               @Nullable Integer completionTokens, @Nullable Integer totalTokens,
                               boolean hasToolCalls, @Nullable String correlationId, @Nullable Instant timestamp,
                               int cachedTokens, int reasoningTokens, @Nullable Long timeToFirstTokenMs,
                               @Nullable String eventId, @Nullable String provider, @Nullable Double costUsd,
                               @Nullable String responseModel, int cacheWriteTokens,
                               @Nullable Map<String, String> attributes) {
        this.sessionId = Checks.id("sessionId", sessionId);
        this.model = Checks.id("model", model);
        this.durationMs = Checks.durationMs("durationMs", durationMs);
        boolean usage = promptTokens != null;
        if (usage != (completionTokens != null) || usage != (totalTokens != null)) {
            throw Checks.invalid(usage != (completionTokens != null) ? "completionTokens" : "totalTokens",
                    "must be given with promptTokens, completionTokens and totalTokens all or none");
        }
        this.promptTokens = usage ? Checks.nonNegative("promptTokens", promptTokens.intValue()) : null;
        this.completionTokens = usage ? Checks.nonNegative("completionTokens", completionTokens.intValue()) : null;
        this.totalTokens = usage ? Checks.nonNegative("totalTokens", totalTokens.intValue()) : null;
        this.hasToolCalls = hasToolCalls;
        this.correlationId = Checks.optionalId("correlationId", correlationId);
        this.timestamp = Checks.timestamp(timestamp);
        Checks.partOf("cachedTokens", cachedTokens, "promptTokens", usage ? promptTokens : 0);
        this.cachedTokens = cachedTokens;
        Checks.partOf("reasoningTokens", reasoningTokens, "completionTokens", usage ? completionTokens : 0);
        this.reasoningTokens = reasoningTokens;
        if (timeToFirstTokenMs != null) {
            Checks.partOf("timeToFirstTokenMs", timeToFirstTokenMs.longValue(), "durationMs", durationMs);
        }
        this.timeToFirstTokenMs = timeToFirstTokenMs;
        this.eventId = Checks.optionalId("eventId", eventId);
        this.provider = Checks.provider(provider);
        this.costUsd = Checks.costUsd(costUsd);
        this.responseModel = Checks.optionalId("responseModel", responseModel);
        Checks.partOf("cacheWriteTokens", cacheWriteTokens, "promptTokens - cachedTokens",
                (usage ? promptTokens : 0) - (long) cachedTokens);
        this.cacheWriteTokens = cacheWriteTokens;
        this.attributes = Checks.attributes(attributes);
    }

    /**
     * A builder of the event of a call by {@code sessionId} to {@code model}: duration 0, no usage (until a
     * token count is set, then the counts not set are 0 and the total the sum of prompt and completion
     * tokens), no tool calls, no correlation id, no time to first token, no provider, no reported cost and
     * timestamped when built, unless set.
     */
    public static Builder builder(String sessionId, String model) {
        return new Builder(sessionId, model);
    }

    /** Whether the response reported its token usage: then the token counts are not {@code null}. */
    public boolean hasUsage() {
        return promptTokens != null;
    }

    /** Whether the provider reported the call's cost. */
    public boolean hasReportedCost() {
        return costUsd != null;
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
        private @Nullable Integer promptTokens;
        private @Nullable Integer completionTokens;
        /** The total the provider reported; {@code null} for the sum of prompt and completion tokens. */
        private @Nullable Integer totalTokens;
        private boolean hasToolCalls;
        private @Nullable String correlationId;
        private @Nullable Instant timestamp;
        private @Nullable String eventId;
        private int cachedTokens;
        private int reasoningTokens;
        private @Nullable Long timeToFirstTokenMs;
        private @Nullable String provider;
        private @Nullable Double costUsd;
        private @Nullable String responseModel;
        private int cacheWriteTokens;
        private @Nullable Map<String, String> attributes;

        private Builder(String sessionId, String model) {
            this.sessionId = sessionId;
            this.model = model;
        }

        /** How long the call took, in milliseconds; 0 unless set. */
        public Builder durationMs(long durationMs) {
            this.durationMs = durationMs;
            return this;
        }

        /** Tokens in the prompt; unless set, 0 when another count is set, else no usage. */
        public Builder promptTokens(int promptTokens) {
            this.promptTokens = promptTokens;
            return this;
        }

        /** Tokens in the completion; unless set, 0 when another count is set, else no usage. */
        public Builder completionTokens(int completionTokens) {
            this.completionTokens = completionTokens;
            return this;
        }

        /**
         * Total tokens as the provider reported them; unless set, the sum of prompt and completion tokens
         * when either is set, else no usage.
         */
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

        /** Who serves the model, such as {@code openai}; {@code null}, the default, when not known. */
        public Builder provider(@Nullable String provider) {
            this.provider = provider;
            return this;
        }

        /** What the call cost in US dollars as the provider reported it; {@code null}, the default, when not reported. */
        public Builder costUsd(@Nullable Double costUsd) {
            this.costUsd = costUsd;
            return this;
        }

        /** Of the prompt tokens, those written to the provider's prompt cache; 0 unless set. */
        public Builder cacheWriteTokens(int cacheWriteTokens) {
            this.cacheWriteTokens = cacheWriteTokens;
            return this;
        }

        /** The model that answered, as the response names it; {@code null}, the default, when not known. */
        public Builder responseModel(@Nullable String responseModel) {
            this.responseModel = responseModel;
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
         * @throws InvalidEventException naming the first field that is not valid, {@code totalTokens} when it
         *                               was not set and the sum of prompt and completion tokens exceeds an int
         */
        public LlmRequestCompleted build() {
            boolean usage = promptTokens != null || completionTokens != null || totalTokens != null;
            Integer prompt = usage ? Objects.requireNonNullElse(promptTokens, 0) : null;
            Integer completion = usage ? Objects.requireNonNullElse(completionTokens, 0) : null;
            Integer total = usage ? (totalTokens != null ? totalTokens : sum(prompt, completion)) : null;
            return new LlmRequestCompleted(sessionId, model, durationMs, prompt, completion, total, hasToolCalls,
                    correlationId, timestamp, cachedTokens, reasoningTokens, timeToFirstTokenMs, eventId, provider,
                    costUsd, responseModel, cacheWriteTokens, attributes);
        }

        private static int sum(int promptTokens, int completionTokens) {
            long sum = (long) promptTokens + completionTokens;
            if (sum > Integer.MAX_VALUE) {
                throw Checks.invalid("totalTokens", "(promptTokens + completionTokens) must be at most "
                        + Integer.MAX_VALUE + ", was " + sum);
            }
            return (int) sum;
        }
    }
}
