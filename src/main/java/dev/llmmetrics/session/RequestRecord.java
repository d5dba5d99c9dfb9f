package dev.llmmetrics.session;

import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One LLM request as the store remembers it.
 *
 * @param timestamp        when the request completed or failed
 * @param model            the model called
 * @param durationMs       how long it took in milliseconds; 0 for a failure of unknown duration
 * @param promptTokens     prompt tokens; 0 for a failure
 * @param completionTokens completion tokens; 0 for a failure
 * @param totalTokens      total tokens; 0 for a failure
 * @param hasToolCalls     whether the response asked for tool calls
 * @param success          whether the request completed
 * @param error            what went wrong, {@code null} for a success
 * @param cachedTokens     of the prompt tokens, those served from the provider's cache; 0 for a failure
 * @param reasoningTokens  of the completion tokens, those spent reasoning; 0 for a failure
 * @param timeToFirstTokenMs time to the first token of a streamed response; {@code null} when unknown,
 *                         always for a failure
 * @param costUsd          what the request cost in US dollars by the store's price table; {@code null} when
 *                         the model has no price, and for a failure
 */
public record RequestRecord(Instant timestamp, String model, long durationMs, int promptTokens, int completionTokens,
                            int totalTokens, boolean hasToolCalls, boolean success, @Nullable String error,
                            int cachedTokens, int reasoningTokens, @Nullable Long timeToFirstTokenMs,
                            @Nullable Double costUsd) {

    /** Checks the record is self-consistent: a success has no error, a failure has no tokens, time or cost. */
    public RequestRecord {
        Objects.requireNonNull(timestamp, "timestamp");
        Objects.requireNonNull(model, "model");
        if (durationMs < 0 || promptTokens < 0 || completionTokens < 0 || totalTokens < 0) {
            throw new IllegalArgumentException("durationMs and token counts must not be negative");
        }
        if (cachedTokens < 0 || cachedTokens > promptTokens || reasoningTokens < 0 || reasoningTokens > completionTokens) {
            throw new IllegalArgumentException("cached tokens must be part of the prompt, reasoning tokens of the completion");
        }
        if (timeToFirstTokenMs != null && (timeToFirstTokenMs < 0 || timeToFirstTokenMs > durationMs)) {
            throw new IllegalArgumentException("timeToFirstTokenMs must be 0 to durationMs");
        }
        if (costUsd != null && !(costUsd >= 0 && Double.isFinite(costUsd))) {
            throw new IllegalArgumentException("costUsd must be a finite amount, not negative");
        }
        if (success && error != null) {
            throw new IllegalArgumentException("a successful request has no error");
        }
        if (!success && (error == null || promptTokens != 0 || completionTokens != 0 || totalTokens != 0 || hasToolCalls
                || timeToFirstTokenMs != null || costUsd != null)) {
            throw new IllegalArgumentException("a failed request has an error and no tokens, tool calls, time to first token or cost");
        }
    }

    /** A record without cached or reasoning tokens, time to first token or cost. */
    public RequestRecord(Instant timestamp, String model, long durationMs, int promptTokens, int completionTokens,
                         int totalTokens, boolean hasToolCalls, boolean success, String error) {
        this(timestamp, model, durationMs, promptTokens, completionTokens, totalTokens, hasToolCalls, success, error,
                0, 0, null, null);
    }

    /** A builder of a request record; every other value starts at zero, false or absent. */
    public static Builder builder(Instant timestamp, String model) {
        return new Builder(timestamp, model);
    }

    /** Builds {@link RequestRecord}; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
        private final Instant timestamp;
        private final String model;
        private long durationMs;
        private int promptTokens;
        private int completionTokens;
        private int totalTokens;
        private boolean hasToolCalls;
        private boolean success = true;
        private @Nullable String error;
        private int cachedTokens;
        private int reasoningTokens;
        private @Nullable Long timeToFirstTokenMs;
        private @Nullable Double costUsd;

        private Builder(Instant timestamp, String model) {
            this.timestamp = timestamp;
            this.model = model;
        }

        /** How long it took in milliseconds. */
        public Builder durationMs(long durationMs) {
            this.durationMs = durationMs;
            return this;
        }

        /** Prompt tokens. */
        public Builder promptTokens(int promptTokens) {
            this.promptTokens = promptTokens;
            return this;
        }

        /** Completion tokens. */
        public Builder completionTokens(int completionTokens) {
            this.completionTokens = completionTokens;
            return this;
        }

        /** Total tokens. */
        public Builder totalTokens(int totalTokens) {
            this.totalTokens = totalTokens;
            return this;
        }

        /** Whether the response asked for tool calls. */
        public Builder hasToolCalls(boolean hasToolCalls) {
            this.hasToolCalls = hasToolCalls;
            return this;
        }

        /** Whether the request completed; {@code true} unless set. */
        public Builder success(boolean success) {
            this.success = success;
            return this;
        }

        /** What went wrong, for a failure. */
        public Builder error(@Nullable String error) {
            this.error = error;
            return this;
        }

        /** Of the prompt tokens, those served from the provider's cache. */
        public Builder cachedTokens(int cachedTokens) {
            this.cachedTokens = cachedTokens;
            return this;
        }

        /** Of the completion tokens, those spent reasoning. */
        public Builder reasoningTokens(int reasoningTokens) {
            this.reasoningTokens = reasoningTokens;
            return this;
        }

        /** Time to the first token of a streamed response. */
        public Builder timeToFirstTokenMs(@Nullable Long timeToFirstTokenMs) {
            this.timeToFirstTokenMs = timeToFirstTokenMs;
            return this;
        }

        /** What the request cost in US dollars. */
        public Builder costUsd(@Nullable Double costUsd) {
            this.costUsd = costUsd;
            return this;
        }

        /** The requestRecord; throws {@link IllegalArgumentException} when its values disagree. */
        public RequestRecord build() {
            return new RequestRecord(timestamp, model, durationMs, promptTokens, completionTokens, totalTokens, hasToolCalls,
                    success, error, cachedTokens, reasoningTokens, timeToFirstTokenMs, costUsd);
        }
    }
}
