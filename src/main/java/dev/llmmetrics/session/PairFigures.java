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
 */
public record PairFigures(String sessionId, String model, long successes, long failures, long toolCallRequests,
                          long durationMs, long maxDurationMs, long promptTokens, long maxPromptTokens,
                          long completionTokens, long maxCompletionTokens, long pricedRequests, long costPicoUsd) {

    /** Whether any request of the pair was priced, so that its cost means something. */
    public boolean priced() {
        return pricedRequests > 0;
    }
}
