package dev.llmmetrics.store;

import java.time.Instant;
import java.util.List;

/**
 * A consistent snapshot of one session's metrics.
 *
 * <p>The semantics are the original design's: {@code totalDurationMs} and both averages are over
 * <em>successful</em> requests, and a failed request counts in {@code totalRequests} and
 * {@code failedRequests} with zero tokens. The aggregates are exact over every request the session
 * ever made, while {@code requests} holds only the most recent ones (the store's per-session bound),
 * oldest first.
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
 * @param requests              the most recent request records, oldest first
 */
public record SessionMetrics(String sessionId, long totalRequests, long successfulRequests, long failedRequests,
                             long totalDurationMs, long totalPromptTokens, long totalCompletionTokens,
                             long totalTokens, long requestsWithTools, Instant lastActive,
                             List<RequestRecord> requests) {

    /** Checks the aggregates are consistent and copies the record list. */
    public SessionMetrics {
        if (successfulRequests < 0 || failedRequests < 0 || totalRequests != successfulRequests + failedRequests) {
            throw new IllegalArgumentException("totalRequests must equal successfulRequests + failedRequests");
        }
        if (requestsWithTools < 0 || requestsWithTools > successfulRequests) {
            throw new IllegalArgumentException("requestsWithTools must be between 0 and successfulRequests");
        }
        requests = List.copyOf(requests);
    }

    /** Mean duration of the successful requests in milliseconds, rounded to 2 decimals; 0 when there is none. */
    public double averageDurationMs() {
        return averageOverSuccessful(totalDurationMs);
    }

    /** Mean total tokens of the successful requests, rounded to 2 decimals; 0 when there is none. */
    public double averageTokensPerRequest() {
        return averageOverSuccessful(totalTokens);
    }

    private double averageOverSuccessful(long sum) {
        if (successfulRequests == 0) {
            return 0.0;
        }
        return Math.round((double) sum / successfulRequests * 100.0) / 100.0;
    }
}
