package dev.llmmetrics.session;

/**
 * What one session recorded for one model label, at one moment: the figures behind the per-session
 * series. Counts and sums are over the pair's life in the store; maxima too.
 *
 * @param sessionId           the session
 * @param model               the model label ({@code _other} past the bound on model labels)
 * @param successes           completed requests
 * @param failures            failed requests
 * @param toolCallRequests    completed requests whose response asked for tool calls
 * @param durationMs          summed duration of the completed requests, in milliseconds
 * @param maxDurationMs       the longest completed request, in milliseconds
 * @param promptTokens        summed prompt tokens of the completed requests
 * @param maxPromptTokens     the most prompt tokens of one completed request
 * @param completionTokens    summed completion tokens of the completed requests
 * @param maxCompletionTokens the most completion tokens of one completed request
 * @param pricedRequests      completed requests of a priced model
 * @param costPicoUsd         what the priced requests cost, in picodollars
 * @param requestsWithoutUsage completed requests that reported no token usage (their tokens are in no sum)
 */
public record PairFigures(String sessionId, String model, long successes, long failures, long toolCallRequests,
                          long durationMs, long maxDurationMs, long promptTokens, long maxPromptTokens,
                          long completionTokens, long maxCompletionTokens, long pricedRequests, long costPicoUsd,
                          long requestsWithoutUsage) {

    /** The completed requests that reported their token usage: those the token sums are over. */
    public long requestsWithUsage() {
        return successes - requestsWithoutUsage;
    }

    /** Whether any request of the pair was priced, so that its cost means something. */
    public boolean priced() {
        return pricedRequests > 0;
    }

    /** A builder of a pair's figures; every other value starts at zero, false or absent. */
    public static Builder builder(String sessionId, String model) {
        return new Builder(sessionId, model);
    }

    /** Builds {@link PairFigures}; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
        private final String sessionId;
        private final String model;
        private long successes;
        private long failures;
        private long toolCallRequests;
        private long durationMs;
        private long maxDurationMs;
        private long promptTokens;
        private long maxPromptTokens;
        private long completionTokens;
        private long maxCompletionTokens;
        private long pricedRequests;
        private long costPicoUsd;
        private long requestsWithoutUsage;

        private Builder(String sessionId, String model) {
            this.sessionId = sessionId;
            this.model = model;
        }

        /** Completed requests. */
        public Builder successes(long successes) {
            this.successes = successes;
            return this;
        }

        /** Failed requests. */
        public Builder failures(long failures) {
            this.failures = failures;
            return this;
        }

        /** Completed requests that asked for tool calls. */
        public Builder toolCallRequests(long toolCallRequests) {
            this.toolCallRequests = toolCallRequests;
            return this;
        }

        /** Summed duration of the completed requests, in milliseconds. */
        public Builder durationMs(long durationMs) {
            this.durationMs = durationMs;
            return this;
        }

        /** The longest completed request, in milliseconds. */
        public Builder maxDurationMs(long maxDurationMs) {
            this.maxDurationMs = maxDurationMs;
            return this;
        }

        /** Summed prompt tokens. */
        public Builder promptTokens(long promptTokens) {
            this.promptTokens = promptTokens;
            return this;
        }

        /** The most prompt tokens of one request. */
        public Builder maxPromptTokens(long maxPromptTokens) {
            this.maxPromptTokens = maxPromptTokens;
            return this;
        }

        /** Summed completion tokens. */
        public Builder completionTokens(long completionTokens) {
            this.completionTokens = completionTokens;
            return this;
        }

        /** The most completion tokens of one request. */
        public Builder maxCompletionTokens(long maxCompletionTokens) {
            this.maxCompletionTokens = maxCompletionTokens;
            return this;
        }

        /** Completed requests of a priced model. */
        public Builder pricedRequests(long pricedRequests) {
            this.pricedRequests = pricedRequests;
            return this;
        }

        /** What the priced requests cost, in picodollars. */
        public Builder costPicoUsd(long costPicoUsd) {
            this.costPicoUsd = costPicoUsd;
            return this;
        }

        /** Completed requests that reported no token usage. */
        public Builder requestsWithoutUsage(long requestsWithoutUsage) {
            this.requestsWithoutUsage = requestsWithoutUsage;
            return this;
        }

        /** The pair's figures. */
        public PairFigures build() {
            return new PairFigures(sessionId, model, successes, failures, toolCallRequests, durationMs, maxDurationMs,
                    promptTokens, maxPromptTokens, completionTokens, maxCompletionTokens, pricedRequests, costPicoUsd,
                    requestsWithoutUsage);
        }
    }
}
