package dev.llmmetrics.session;

import dev.llmmetrics.cost.ModelPrice;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A consistent snapshot of one session's metrics.
 *
 * <p>{@code totalDurationMs} and both averages are over
 * <em>successful</em> requests, and a failed request counts in {@code totalRequests} and
 * {@code failedRequests} with zero tokens. A completed request whose response reported no token usage
 * adds nothing to the token sums and counts in {@code requestsWithoutUsage}. The aggregates are exact over every request the session
 * ever made, while {@code requests} holds only the ones received last (the store's per-session bound), in the
 * order received, whatever their timestamps.
 *
 * @param sessionId             the session
 * @param totalRequests         requests that completed or failed
 * @param successfulRequests    requests that completed
 * @param failedRequests        requests that failed
 * @param totalDurationMs       summed duration of the successful requests, in milliseconds
 * @param totalPromptTokens     summed prompt tokens
 * @param totalCompletionTokens summed completion tokens
 * @param totalTokens           summed total tokens
 * @param requestsWithTools     successful requests whose response asked for tool calls
 * @param lastActive            when the store last saw an event of this session
 * @param requests              the request records received last, in the order received
 * @param totalCachedTokens     summed cached prompt tokens (part of {@code totalPromptTokens})
 * @param totalReasoningTokens  summed reasoning tokens (part of {@code totalCompletionTokens})
 * @param cost                  what the successful requests cost, as their providers reported it or else by
 *                              the store's price table
 * @param requestsWithoutUsage  successful requests whose response reported no token usage
 * @param scores                a summary per score name of every score the session received, in order of the
 *                              names' first use
 */
public record SessionMetrics(String sessionId, long totalRequests, long successfulRequests, long failedRequests,
                             long totalDurationMs, long totalPromptTokens, long totalCompletionTokens,
                             long totalTokens, long requestsWithTools, Instant lastActive,
                             List<RequestRecord> requests, long totalCachedTokens, long totalReasoningTokens,
                             SessionCost cost, long requestsWithoutUsage, List<ScoreSummary> scores) {

    /** Checks the aggregates are consistent and copies the record list. */
    public SessionMetrics {
        if (successfulRequests < 0 || failedRequests < 0 || totalRequests != successfulRequests + failedRequests) {
            throw new IllegalArgumentException("totalRequests must equal successfulRequests + failedRequests");
        }
        if (requestsWithTools < 0 || requestsWithTools > successfulRequests) {
            throw new IllegalArgumentException("requestsWithTools must be between 0 and successfulRequests");
        }
        requests = List.copyOf(requests);
        scores = List.copyOf(scores);
        if (totalCachedTokens < 0 || totalCachedTokens > totalPromptTokens
                || totalReasoningTokens < 0 || totalReasoningTokens > totalCompletionTokens) {
            throw new IllegalArgumentException("cached tokens must be part of the prompt, reasoning tokens of the completion");
        }
        if (requestsWithoutUsage < 0 || requestsWithoutUsage > successfulRequests) {
            throw new IllegalArgumentException("requestsWithoutUsage must be between 0 and successfulRequests");
        }
        Objects.requireNonNull(cost, "cost");
        if (cost.pricedRequests() + cost.unpricedRequests() != successfulRequests) {
            throw new IllegalArgumentException("every successful request is either priced or unpriced");
        }
    }

    /** The same aggregates without the records. */
    public SessionMetrics withoutRequests() {
        return new SessionMetrics(sessionId, totalRequests, successfulRequests, failedRequests, totalDurationMs,
                totalPromptTokens, totalCompletionTokens, totalTokens, requestsWithTools, lastActive, List.of(),
                totalCachedTokens, totalReasoningTokens, cost, requestsWithoutUsage, scores);
    }

    /**
     * The cost of the priced successful requests in US dollars, or {@code null} when none is priced;
     * {@link SessionCost#unpricedRequests()} says how many it leaves out.
     */
    public @Nullable Double totalCostUsd() {
        return cost.pricedRequests() == 0 ? null : ModelPrice.usd(cost.picoUsd());
    }

    /**
     * Completion tokens per prompt token, {@code totalCompletionTokens / max(totalPromptTokens, 1)}: the
     * token efficiency, unrounded.
     */
    public double tokenEfficiency() {
        return (double) totalCompletionTokens / Math.max(totalPromptTokens, 1L);
    }

    /** Mean duration of the successful requests in milliseconds, rounded to 2 decimals; 0 when there is none. */
    public double averageDurationMs() {
        return averageOverSuccessful(totalDurationMs);
    }

    /**
     * Mean total tokens of the successful requests that reported usage, rounded to 2 decimals; 0 when there
     * is none.
     */
    public double averageTokensPerRequest() {
        return average(totalTokens, successfulRequests - requestsWithoutUsage);
    }

    private double averageOverSuccessful(long sum) {
        return average(sum, successfulRequests);
    }

    private static double average(long sum, long count) {
        if (count == 0) {
            return 0.0;
        }
        return Math.round((double) sum / count * 100.0) / 100.0;
    }

    /** A builder of a session's snapshot: its total is the sum of its successful and failed requests; every other value starts at zero, false or absent. */
    public static Builder builder(String sessionId, Instant lastActive) {
        return new Builder(sessionId, lastActive);
    }

    /** Builds {@link SessionMetrics}; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
        private final String sessionId;
        private final Instant lastActive;
        private long successfulRequests;
        private long failedRequests;
        private long totalDurationMs;
        private long totalPromptTokens;
        private long totalCompletionTokens;
        private long totalTokens;
        private long requestsWithTools;
        private List<RequestRecord> requests = List.of();
        private long totalCachedTokens;
        private long totalReasoningTokens;
        private @Nullable SessionCost cost;
        private long requestsWithoutUsage;
        private List<ScoreSummary> scores = List.of();

        private Builder(String sessionId, Instant lastActive) {
            this.sessionId = sessionId;
            this.lastActive = lastActive;
        }

        /** Requests that completed. */
        public Builder successfulRequests(long successfulRequests) {
            this.successfulRequests = successfulRequests;
            return this;
        }

        /** Requests that failed. */
        public Builder failedRequests(long failedRequests) {
            this.failedRequests = failedRequests;
            return this;
        }

        /** Summed duration of the successful requests, in milliseconds. */
        public Builder totalDurationMs(long totalDurationMs) {
            this.totalDurationMs = totalDurationMs;
            return this;
        }

        /** Summed prompt tokens. */
        public Builder totalPromptTokens(long totalPromptTokens) {
            this.totalPromptTokens = totalPromptTokens;
            return this;
        }

        /** Summed completion tokens. */
        public Builder totalCompletionTokens(long totalCompletionTokens) {
            this.totalCompletionTokens = totalCompletionTokens;
            return this;
        }

        /** Summed total tokens. */
        public Builder totalTokens(long totalTokens) {
            this.totalTokens = totalTokens;
            return this;
        }

        /** Successful requests whose response asked for tool calls. */
        public Builder requestsWithTools(long requestsWithTools) {
            this.requestsWithTools = requestsWithTools;
            return this;
        }

        /** The request records received last, in the order received; none unless set. */
        public Builder requests(List<RequestRecord> requests) {
            this.requests = requests;
            return this;
        }

        /** Summed cached prompt tokens. */
        public Builder totalCachedTokens(long totalCachedTokens) {
            this.totalCachedTokens = totalCachedTokens;
            return this;
        }

        /** Summed reasoning tokens. */
        public Builder totalReasoningTokens(long totalReasoningTokens) {
            this.totalReasoningTokens = totalReasoningTokens;
            return this;
        }

        /** Successful requests whose response reported no token usage. */
        public Builder requestsWithoutUsage(long requestsWithoutUsage) {
            this.requestsWithoutUsage = requestsWithoutUsage;
            return this;
        }

        /** What the successful requests cost; all unpriced unless set. */
        public Builder cost(@Nullable SessionCost cost) {
            this.cost = cost;
            return this;
        }

        /** A summary per score name; none unless set. */
        public Builder scores(List<ScoreSummary> scores) {
            this.scores = scores;
            return this;
        }

        /** The sessionMetrics; throws {@link IllegalArgumentException} when its values disagree. */
        public SessionMetrics build() {
            return new SessionMetrics(sessionId, successfulRequests + failedRequests, successfulRequests, failedRequests,
                    totalDurationMs, totalPromptTokens, totalCompletionTokens, totalTokens, requestsWithTools, lastActive,
                    requests, totalCachedTokens, totalReasoningTokens,
                    cost != null ? cost : new SessionCost(0, successfulRequests, 0), requestsWithoutUsage, scores);
        }
    }
}
