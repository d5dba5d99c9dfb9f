package dev.llmmetrics.session;

import dev.llmmetrics.cost.CostSource;
import dev.llmmetrics.event.ErrorType;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One LLM request as the store remembers it.
 *
 * @param timestamp        when the request completed or failed
 * @param model            the model called
 * @param durationMs       how long it took in milliseconds; 0 for a failure of unknown duration
 * @param promptTokens     prompt tokens; {@code null} when the response reported no usage, always for a failure
 * @param completionTokens completion tokens; {@code null} exactly when {@code promptTokens} is
 * @param totalTokens      total tokens; {@code null} exactly when {@code promptTokens} is
 * @param hasToolCalls     whether the response asked for tool calls
 * @param success          whether the request completed
 * @param error            what went wrong, {@code null} for a success
 * @param cachedTokens     of the prompt tokens, those served from the provider's cache; 0 without usage
 * @param reasoningTokens  of the completion tokens, those spent reasoning; 0 without usage
 * @param timeToFirstTokenMs time to the first token of a streamed response; {@code null} when unknown,
 *                         always for a failure
 * @param costUsd          what the request cost in US dollars; {@code null} when not known (no reported cost,
 *                         and no price for the model or no usage), always for a failure
 * @param costSource       where {@code costUsd} comes from; {@code null} exactly when it is
 * @param provider         who serves the model, as the event said; {@code null} when it did not
 * @param errorType        what kind of failure it was; {@code null} for a success and when not known
 * @param httpStatus       the HTTP status of a failure, when known; {@code null} for a success
 * @param correlationId    the correlation id of the request's events; {@code null} when they had none
 * @param attributes       the attributes of its COMPLETED or FAILED event; an unmodifiable copy
 * @param scores           the scores of its correlation id the store holds, in the order received
 */
public record RequestRecord(Instant timestamp, String model, long durationMs, @Nullable Integer promptTokens,
                            @Nullable Integer completionTokens, @Nullable Integer totalTokens, boolean hasToolCalls,
                            boolean success, @Nullable String error, int cachedTokens, int reasoningTokens,
                            @Nullable Long timeToFirstTokenMs, @Nullable Double costUsd,
                            @Nullable CostSource costSource, @Nullable String provider,
                            @Nullable ErrorType errorType, @Nullable Integer httpStatus, @Nullable String correlationId,
                            Map<String, String> attributes, List<RequestScore> scores) {

    /**
     * Checks the record is self-consistent: token counts all or none, a success has no error, a failure has
     * no tokens, time or cost.
     */
    public RequestRecord {
        Objects.requireNonNull(timestamp, "timestamp");
        Objects.requireNonNull(model, "model");
        boolean usage = promptTokens != null;
        if (usage != (completionTokens != null) || usage != (totalTokens != null)) {
            throw new IllegalArgumentException("prompt, completion and total tokens are all given or none");
        }
        if (durationMs < 0 || usage && (promptTokens < 0 || completionTokens < 0 || totalTokens < 0)) {
            throw new IllegalArgumentException("durationMs and token counts must not be negative");
        }
        if (cachedTokens < 0 || cachedTokens > (usage ? promptTokens : 0) || reasoningTokens < 0
                || reasoningTokens > (usage ? completionTokens : 0)) {
            throw new IllegalArgumentException("cached tokens must be part of the prompt, reasoning tokens of the completion");
        }
        if (timeToFirstTokenMs != null && (timeToFirstTokenMs < 0 || timeToFirstTokenMs > durationMs)) {
            throw new IllegalArgumentException("timeToFirstTokenMs must be 0 to durationMs");
        }
        if (costUsd != null && !(costUsd >= 0 && Double.isFinite(costUsd))) {
            throw new IllegalArgumentException("costUsd must be a finite amount, not negative");
        }
        attributes = Map.copyOf(attributes);
        scores = List.copyOf(scores);
        if (correlationId == null && !scores.isEmpty()) {
            throw new IllegalArgumentException("a request without a correlation id has no scores");
        }
        if ((costUsd == null) != (costSource == null)) {
            throw new IllegalArgumentException("a cost has a source, and only a cost has one");
        }
        if (httpStatus != null && (httpStatus < 100 || httpStatus > 599)) {
            throw new IllegalArgumentException("httpStatus must be 100 to 599");
        }
        if (success && (error != null || errorType != null || httpStatus != null)) {
            throw new IllegalArgumentException("a successful request has no error, error type or HTTP status");
        }
        if (!success && (error == null || usage || hasToolCalls || timeToFirstTokenMs != null || costUsd != null)) {
            throw new IllegalArgumentException("a failed request has an error and no tokens, tool calls, time to first token or cost");
        }
    }

    /** Whether the response reported its token usage: then the token counts are not {@code null}. */
    public boolean hasUsage() {
        return promptTokens != null;
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
        private @Nullable Integer promptTokens;
        private @Nullable Integer completionTokens;
        private @Nullable Integer totalTokens;
        private boolean hasToolCalls;
        private boolean success = true;
        private @Nullable String error;
        private int cachedTokens;
        private int reasoningTokens;
        private @Nullable Long timeToFirstTokenMs;
        private @Nullable Double costUsd;
        private @Nullable CostSource costSource;
        private @Nullable String provider;
        private @Nullable ErrorType errorType;
        private @Nullable Integer httpStatus;
        private @Nullable String correlationId;
        private Map<String, String> attributes = Map.of();
        private List<RequestScore> scores = List.of();

        private Builder(Instant timestamp, String model) {
            this.timestamp = timestamp;
            this.model = model;
        }

        /** How long it took in milliseconds. */
        public Builder durationMs(long durationMs) {
            this.durationMs = durationMs;
            return this;
        }

        /** Prompt tokens; {@code null}, the default, when the response reported no usage. */
        public Builder promptTokens(@Nullable Integer promptTokens) {
            this.promptTokens = promptTokens;
            return this;
        }

        /** Completion tokens; {@code null}, the default, when the response reported no usage. */
        public Builder completionTokens(@Nullable Integer completionTokens) {
            this.completionTokens = completionTokens;
            return this;
        }

        /** Total tokens; {@code null}, the default, when the response reported no usage. */
        public Builder totalTokens(@Nullable Integer totalTokens) {
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

        /** Where the cost comes from; given exactly when the cost is. */
        public Builder costSource(@Nullable CostSource costSource) {
            this.costSource = costSource;
            return this;
        }

        /** Who serves the model. */
        public Builder provider(@Nullable String provider) {
            this.provider = provider;
            return this;
        }

        /** What kind of failure it was. */
        public Builder errorType(@Nullable ErrorType errorType) {
            this.errorType = errorType;
            return this;
        }

        /** The HTTP status of a failure. */
        public Builder httpStatus(@Nullable Integer httpStatus) {
            this.httpStatus = httpStatus;
            return this;
        }

        /** The correlation id of the request's events. */
        public Builder correlationId(@Nullable String correlationId) {
            this.correlationId = correlationId;
            return this;
        }

        /** The attributes of its COMPLETED or FAILED event; none unless set. */
        public Builder attributes(Map<String, String> attributes) {
            this.attributes = attributes;
            return this;
        }

        /** The scores of its correlation id, in the order received; none unless set. */
        public Builder scores(List<RequestScore> scores) {
            this.scores = scores;
            return this;
        }

        /** The requestRecord; throws {@link IllegalArgumentException} when its values disagree. */
        public RequestRecord build() {
            return new RequestRecord(timestamp, model, durationMs, promptTokens, completionTokens, totalTokens, hasToolCalls,
                    success, error, cachedTokens, reasoningTokens, timeToFirstTokenMs, costUsd, costSource, provider, errorType,
                    httpStatus, correlationId, attributes, scores);
        }
    }
}
